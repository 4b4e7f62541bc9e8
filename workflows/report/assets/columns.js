/* furpe-label report: the row columns as native typed arrays.
 *
 * The page's rows block (workflows/report/payload.py, packed by column_pack.py) holds one
 * deflated, base64-encoded binary block and a spec per column: a constant ("c", null = NaN), a
 * run of consecutive integers from "r" (sample_idx), N values at byte offset "o", or "k"
 * non-NaN values at "o" with a bitmap of the rows that hold them at "m" (NaN elsewhere).
 * Offsets are multiples of 8, so a column without a bitmap is a typed-array view of the
 * inflated block (no copy). Values keep their stored dtype: a float32 score read from a
 * Float32Array is the very number Python compares (whatif.js compares as numpy does).
 * decodeRows is asynchronous: the block is inflated by the browser's DecompressionStream.
 */
(function (root) {
  "use strict";

  var TYPES = {
    f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array, i2: Int16Array,
    u2: Uint16Array, i4: Int32Array
  };

  function has(spec, key) { return Object.prototype.hasOwnProperty.call(spec, key); }

  /** base64 text -> Uint8Array (the browser's own decoder where it has one; node: Buffer). */
  function base64Bytes(text) {
    if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
    if (typeof Buffer === "function") return new Uint8Array(Buffer.from(text, "base64"));
    var raw = atob(text), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  /** zlib (RFC 1950) bytes -> Promise of the inflated ArrayBuffer. */
  function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer();
  }

  /** One column of the inflated block -> typed array of n values of the spec's dtype. */
  function column(spec, buffer, n) {
    var Type = TYPES[spec.t];
    if (!Type) throw new Error("unknown column type " + spec.t);
    if (has(spec, "c")) return new Type(n).fill(spec.c === null ? NaN : spec.c);
    var out, i;
    if (has(spec, "r")) {
      out = new Type(n);
      for (i = 0; i < n; i++) out[i] = spec.r + i;
      return out;
    }
    var count = has(spec, "m") ? spec.k : n;
    if (spec.o % Type.BYTES_PER_ELEMENT || spec.o + count * Type.BYTES_PER_ELEMENT > buffer.byteLength) {
      throw new Error("column at byte " + spec.o + " lies outside the rows block");
    }
    var values = new Type(buffer, spec.o, count);
    if (!has(spec, "m")) return values;
    if (spec.m + ((n + 7) >> 3) > buffer.byteLength) throw new Error("column bitmap outside the rows block");
    var bits = new Uint8Array(buffer, spec.m, (n + 7) >> 3), j = 0;
    out = new Type(n).fill(NaN);
    for (var b = 0; b < bits.length; b++) {  // a byte at a time: runs of 8 copied straight
      var byte = bits[b];
      i = b << 3;
      if (byte === 255 && i + 8 <= n) {
        for (var q = 0; q < 8; q++) out[i + q] = values[j++];
        continue;
      }
      for (; byte; byte >>= 1, i++) if (byte & 1) out[i] = values[j++];
    }
    if (j !== count || i > n) throw new Error("column bitmap marks " + j + " values, the spec " + count);
    return out;
  }

  /** Promise of {name: typed array} for every column of a rows block; text: the block's
   * base64 (default rows.packed.data; the page keeps it in its own script element). */
  function decodeRows(rows, text) {
    var packed = rows.packed;
    return inflate(base64Bytes(text === undefined ? packed.data : text)).then(function (buffer) {
      if (buffer.byteLength !== packed.bytes) {
        throw new Error("the rows block inflates to " + buffer.byteLength + " bytes, not " + packed.bytes);
      }
      var out = {};
      Object.keys(rows.columns).forEach(function (name) {
        out[name] = column(rows.columns[name], buffer, rows.n);
      });
      return out;
    });
  }

  var api = { decodeRows: decodeRows, column: column, TYPES: TYPES };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.FurpeColumns = api;
})(this);
