"""A synchronous gunzip for the page: ``GUNZIP_JS`` is a JavaScript function expression.

The browser's own ``DecompressionStream`` answers in later tasks, which wait behind the parsing
of the rest of the page and its deferred scripts: the first plot of a chapter was built up to
300 ms after its fragment was parsed. This decoder answers at once, so the first plot goes to
BokehJS as soon as its fragment is parsed (:mod:`gradwidgets.widgets.embed`). It reads one
gzip member (RFC 1952: the header's optional fields are skipped, the checksum is not checked)
holding DEFLATE data (RFC 1951: stored, fixed and dynamic Huffman blocks) and returns its bytes
as a ``Uint8Array``; it throws an ``Error`` on data it cannot decode. It follows the decoder
of zlib's ``contrib/puff`` (canonical Huffman codes decoded bit by bit): a few milliseconds for
a plot's 4-45 kB.
"""

GUNZIP_JS = """(function () {
  const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83,
                 99, 115, 131, 163, 195, 227, 258];
  const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
  const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
  const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11,
                12, 12, 13, 13];
  const ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
  const fail = (what) => { throw new Error("gunzip: " + what); };
  function table(lengths) {  // a canonical Huffman code: how many codes per length, symbols in order
    const count = new Uint16Array(16), offs = new Uint16Array(16);
    const symbol = new Uint16Array(lengths.length);
    for (const len of lengths) count[len]++;
    count[0] = 0;
    for (let len = 1; len < 16; len++) offs[len] = offs[len - 1] + count[len - 1];
    lengths.forEach((len, sym) => { if (len) symbol[offs[len]++] = sym; });
    return {count, symbol};
  }
  const FIXED_L = table(Array.from({length: 288}, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8)));
  const FIXED_D = table(new Array(30).fill(5));
  return function gunzip(src) {
    let pos = 10, bit = 0, n = 0, out = new Uint8Array(Math.max(1024, src.length * 4));
    if (src[0] !== 31 || src[1] !== 139 || src[2] !== 8) fail("not gzip data");
    const flags = src[3];
    if (flags & 4) pos += 2 + (src[pos] | (src[pos + 1] << 8));
    if (flags & 8) while (src[pos++]);
    if (flags & 16) while (src[pos++]);
    if (flags & 2) pos += 2;
    const bits = (k) => {
      let v = 0;
      for (let i = 0; i < k; i++) {
        if (pos >= src.length) fail("the data ends early");
        v |= ((src[pos] >> bit) & 1) << i;
        if (++bit === 8) { bit = 0; pos++; }
      }
      return v;
    };
    const room = (k) => {
      if (n + k <= out.length) return;
      const grown = new Uint8Array(Math.max(out.length * 2, n + k));
      grown.set(out);
      out = grown;
    };
    const decode = (h) => {
      let code = 0, first = 0, index = 0;
      for (let len = 1; len < 16; len++) {
        code |= bits(1);
        const count = h.count[len];
        if (code - count < first) return h.symbol[index + (code - first)];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
      }
      return fail("an invalid Huffman code");
    };
    const codes = (lc, dc) => {
      for (;;) {
        let sym = decode(lc);
        if (sym < 256) { room(1); out[n++] = sym; continue; }
        if (sym === 256) return;
        sym -= 257;
        if (sym >= 29) fail("an invalid length");
        const len = LBASE[sym] + bits(LEXT[sym]);
        const dsym = decode(dc);
        if (dsym >= 30) fail("an invalid distance");
        const dist = DBASE[dsym] + bits(DEXT[dsym]);
        if (dist > n) fail("a distance before the start");
        room(len);
        for (let i = 0; i < len; i++, n++) out[n] = out[n - dist];
      }
    };
    const dynamic = () => {
      const nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
      const cl = new Array(19).fill(0);
      for (let i = 0; i < ncode; i++) cl[ORDER[i]] = bits(3);
      const ch = table(cl), lengths = [];
      while (lengths.length < nlen + ndist) {
        const sym = decode(ch);
        if (sym < 16) { lengths.push(sym); continue; }
        let len = 0, rep;
        if (sym === 16) {
          if (!lengths.length) fail("a repeat with nothing before it");
          len = lengths[lengths.length - 1];
          rep = 3 + bits(2);
        } else rep = sym === 17 ? 3 + bits(3) : 11 + bits(7);
        for (let i = 0; i < rep; i++) lengths.push(len);
      }
      if (lengths.length > nlen + ndist) fail("too many code lengths");
      codes(table(lengths.slice(0, nlen)), table(lengths.slice(nlen)));
    };
    let last;
    do {
      last = bits(1);
      const type = bits(2);
      if (type === 0) {
        if (bit) { bit = 0; pos++; }
        const len = src[pos] | (src[pos + 1] << 8);
        if (pos + 4 + len > src.length) fail("the data ends early");
        room(len);
        out.set(src.subarray(pos + 4, pos + 4 + len), n);
        n += len;
        pos += 4 + len;
      } else if (type === 1) codes(FIXED_L, FIXED_D);
      else if (type === 2) dynamic();
      else fail("an invalid block type");
    } while (!last);
    return out.subarray(0, n);
  };
})()"""
