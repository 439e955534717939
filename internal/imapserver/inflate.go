package imapserver

import (
	"bufio"
	"errors"
	"io"
)

// inflater decodes a raw deflate stream (RFC 1951) read from src, for
// COMPRESS=DEFLATE (RFC 4978). It hands out what it decoded as soon as
// the next piece of input has not arrived yet, wherever the sender
// flushed: after a sync flush (an empty stored block), after a partial
// flush (an empty fixed-code block, of which up to 7 bits may still sit
// in the client's compressor, as mbsync sends), or in the middle of a
// block. Neither compress/flate (which hands out data only at stored
// blocks and full windows) nor klauspost's flate (which reads 10 bits
// beyond the end of a non-final dynamic block) does that, and a session
// reading through either waits for input the client sends only after
// the answer.
//
// It decodes in units (a block header with its code tables, a symbol with
// its extra bits, a run of stored bytes), each only once all its bits are
// buffered in src; a unit short of input is rolled back, the output so
// far is returned, and only a Read with nothing to return waits for more.
//
// The window grows with the output up to the 32 KB RFC 1951 allows, so a
// session that sent little holds little.
type inflater struct {
	src *bufio.Reader

	buf   []byte // src's buffered bytes, while decoding
	pos   int    // bytes of buf moved into bits
	bits  uint64 // input bits not consumed yet, lowest first
	nbits uint

	state      int // inflHeader, inflStored, inflCodes, inflDone
	final      bool
	storedLeft int
	lit, dist  *huffman // the current block's codes
	copyLen    int      // bytes of a length/distance copy still to write
	copyDist   int

	win  []byte // the last output, up to winSize; a ring once full
	wpos int    // oldest byte of win once full
	err  error
}

const (
	inflHeader = iota
	inflStored
	inflCodes
	inflDone
)

const winSize = 32 << 10 // RFC 1951 2: distances reach 32 KB back

// errInflate is invalid deflate data.
var errInflate = errors.New("invalid deflate data")

func newInflater(src *bufio.Reader) *inflater { return &inflater{src: src} }

// Read decodes into p what the input buffered now allows; it waits for
// input only when it has nothing to return.
func (z *inflater) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if z.err != nil {
			return 0, z.err
		}
		if z.state == inflDone {
			return 0, io.EOF
		}
		z.buf, _ = z.src.Peek(z.src.Buffered())
		z.pos = 0
		n, short := z.decode(p)
		z.src.Discard(z.pos)
		z.buf = nil
		if n > 0 {
			return n, nil
		}
		if z.err != nil || !short {
			continue
		}
		// Nothing to return: wait for one more byte than is buffered.
		if _, err := z.src.Peek(z.src.Buffered() + 1); err != nil {
			switch {
			case errors.Is(err, bufio.ErrBufferFull):
				err = errInflate // no unit is that long
			case err == io.EOF:
				err = io.ErrUnexpectedEOF // before the final block
			}
			z.err = err
		}
	}
}

// decode writes output into p until p is full, the stream ends, an error
// is met, or a unit needs input not buffered yet (short).
func (z *inflater) decode(p []byte) (n int, short bool) {
	for n < len(p) {
		if z.copyLen > 0 {
			n += z.copyBack(p[n:])
			continue
		}
		pos, bits, nbits := z.pos, z.bits, z.nbits
		var ok bool
		switch z.state {
		case inflHeader:
			ok = z.header()
		case inflStored:
			var k int
			k, ok = z.stored(p[n:])
			n += k
		case inflCodes:
			var k int
			k, ok = z.symbol(p[n:])
			n += k
		case inflDone:
			return n, false
		}
		if z.err != nil {
			return n, false
		}
		if !ok {
			z.pos, z.bits, z.nbits = pos, bits, nbits // roll the unit back
			return n, true
		}
	}
	return n, false
}

// need makes at least k bits available (k <= 56); false if the buffered
// input does not hold them.
func (z *inflater) need(k uint) bool {
	for z.nbits < k {
		if z.pos == len(z.buf) {
			return false
		}
		z.bits |= uint64(z.buf[z.pos]) << z.nbits
		z.pos++
		z.nbits += 8
	}
	return true
}

// take consumes k bits (available already) and returns them.
func (z *inflater) take(k uint) int {
	v := int(z.bits & (1<<k - 1))
	z.bits >>= k
	z.nbits -= k
	return v
}

func (z *inflater) fail() bool {
	z.err = errInflate
	return false
}

// header reads a block header and what comes with it: the length of a
// stored block, or the code tables of a dynamic one (RFC 1951 3.2.3).
func (z *inflater) header() bool {
	if !z.need(3) {
		return false
	}
	z.final = z.take(1) == 1
	switch z.take(2) {
	case 0: // RFC 1951 3.2.4: stored, from the next byte boundary
		z.take(z.nbits % 8)
		if !z.need(32) {
			return false
		}
		n, nn := z.take(16), z.take(16)
		if n != ^nn&0xffff {
			return z.fail()
		}
		z.storedLeft = n
		z.state = inflStored
		return true
	case 1: // RFC 1951 3.2.6
		z.lit, z.dist = fixedLit, fixedDist
	case 2:
		if !z.dynamicTables() {
			return false
		}
	default:
		return z.fail()
	}
	z.state = inflCodes
	return true
}

// endBlock follows the end of a block.
func (z *inflater) endBlock() {
	z.state = inflHeader
	if z.final {
		z.state = inflDone
	}
}

// stored copies the buffered bytes of a stored block.
func (z *inflater) stored(p []byte) (int, bool) {
	if z.storedLeft == 0 {
		z.endBlock()
		return 0, true
	}
	n := 0
	// Whole bytes left in the bit buffer come first (there are none
	// after the 32-bit length, which ends on a byte boundary).
	for n < len(p) && z.storedLeft > 0 && z.nbits >= 8 {
		p[n] = byte(z.take(8))
		z.put(p[n])
		n++
		z.storedLeft--
	}
	k := min(len(p)-n, z.storedLeft, len(z.buf)-z.pos)
	for _, c := range z.buf[z.pos : z.pos+k] {
		z.put(c)
	}
	copy(p[n:], z.buf[z.pos:z.pos+k])
	z.pos += k
	z.storedLeft -= k
	n += k
	if z.storedLeft == 0 {
		z.endBlock()
	}
	return n, n > 0 || len(p) == 0
}

// symbol decodes one literal (written to p), one length/distance pair
// (the copy starts), or the end of the block (RFC 1951 3.2.5).
func (z *inflater) symbol(p []byte) (int, bool) {
	sym, ok := z.decodeSym(z.lit)
	if !ok {
		return 0, false
	}
	switch {
	case sym < 256:
		p[0] = byte(sym)
		z.put(p[0])
		return 1, true
	case sym == 256:
		z.endBlock()
		return 0, true
	case sym > 285:
		return 0, z.fail()
	}
	i := sym - 257
	if !z.need(uint(lenExtra[i])) {
		return 0, false
	}
	length := int(lenBase[i]) + z.take(uint(lenExtra[i]))
	d, ok := z.decodeSym(z.dist)
	if !ok {
		return 0, false
	}
	if d > 29 {
		return 0, z.fail()
	}
	if !z.need(uint(distExtra[d])) {
		return 0, false
	}
	dist := int(distBase[d]) + z.take(uint(distExtra[d]))
	if dist > len(z.win) {
		return 0, z.fail() // before the start of the stream
	}
	z.copyLen, z.copyDist = length, dist
	return z.copyBack(p), true
}

// copyBack writes as much of the pending length/distance copy as p takes.
func (z *inflater) copyBack(p []byte) int {
	n := min(len(p), z.copyLen)
	for i := range n {
		c := z.back(z.copyDist)
		p[i] = c
		z.put(c)
	}
	z.copyLen -= n
	return n
}

// put appends c to the window, grown as needed up to winSize.
func (z *inflater) put(c byte) {
	if n := len(z.win); n < winSize {
		if n == cap(z.win) {
			w := make([]byte, n, min(max(2*n, 1<<10), winSize))
			copy(w, z.win)
			z.win = w
		}
		z.win = append(z.win, c)
		return
	}
	z.win[z.wpos] = c
	z.wpos = (z.wpos + 1) % winSize
}

// back returns the byte d bytes back in the output (1 <= d <= len(win)).
func (z *inflater) back(d int) byte {
	if len(z.win) < winSize {
		return z.win[len(z.win)-d]
	}
	return z.win[(z.wpos-d+winSize)%winSize]
}

// decodeSym reads one Huffman-coded symbol, one bit at a time (RFC 1951
// 3.1.1: codes are packed starting with their most significant bit).
func (z *inflater) decodeSym(h *huffman) (int, bool) {
	code, first, index := 0, 0, 0
	for l := 1; l <= maxCodeBits; l++ {
		if !z.need(1) {
			return 0, false
		}
		code |= z.take(1)
		count := int(h.count[l])
		if code-first < count {
			return int(h.symbol[index+code-first]), true
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, z.fail() // a code the table does not have
}

// codeLenOrder is the order of the code length code lengths (RFC 1951
// 3.2.7).
var codeLenOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamicTables reads the code tables of a dynamic block (RFC 1951
// 3.2.7).
func (z *inflater) dynamicTables() bool {
	if !z.need(14) {
		return false
	}
	nlit, ndist, nclen := z.take(5)+257, z.take(5)+1, z.take(4)+4
	if nlit > 286 || ndist > 30 {
		return z.fail()
	}
	var clens [19]uint8
	for i := range nclen {
		if !z.need(3) {
			return false
		}
		clens[codeLenOrder[i]] = uint8(z.take(3))
	}
	var clh huffman
	if !clh.init(clens[:]) {
		return z.fail()
	}
	var lens [286 + 30]uint8
	for i := 0; i < nlit+ndist; {
		sym, ok := z.decodeSym(&clh)
		if !ok {
			return false
		}
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return z.fail()
			}
			if !z.need(2) {
				return false
			}
			rep, val = 3+z.take(2), lens[i-1]
		case 17:
			if !z.need(3) {
				return false
			}
			rep = 3 + z.take(3)
		default: // 18
			if !z.need(7) {
				return false
			}
			rep = 11 + z.take(7)
		}
		if i+rep > nlit+ndist {
			return z.fail()
		}
		for range rep {
			lens[i] = val
			i++
		}
	}
	if lens[256] == 0 {
		return z.fail() // no end of block
	}
	lit, dist := new(huffman), new(huffman)
	if !lit.init(lens[:nlit]) || !dist.init(lens[nlit:nlit+ndist]) {
		return z.fail()
	}
	z.lit, z.dist = lit, dist
	return true
}

const maxCodeBits = 15

// huffman is a canonical Huffman code (RFC 1951 3.2.2): how many codes
// have each length, and the symbols in code order.
type huffman struct {
	count  [maxCodeBits + 1]uint16
	symbol []uint16
}

// init builds the code from code lengths (0: symbol unused). A code must
// be complete, but for a single code of one bit (RFC 1951 3.2.7 allows a
// single distance code) or no code at all.
func (h *huffman) init(lengths []uint8) bool {
	*h = huffman{}
	n := 0
	for _, l := range lengths {
		h.count[l]++
		if l > 0 {
			n++
		}
	}
	h.count[0] = 0
	left := 1
	for l := 1; l <= maxCodeBits; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return false // over-subscribed
		}
	}
	if left > 0 && n > 0 && !(n == 1 && h.count[1] == 1) {
		return false // incomplete
	}
	var offs [maxCodeBits + 2]int
	for l := 1; l <= maxCodeBits; l++ {
		offs[l+1] = offs[l] + int(h.count[l])
	}
	h.symbol = make([]uint16, n)
	for sym, l := range lengths {
		if l > 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	return true
}

// The fixed codes (RFC 1951 3.2.6).
var fixedLit, fixedDist = func() (*huffman, *huffman) {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [32]uint8 // 30 and 31 are never valid (symbol refuses them)
	for i := range d {
		d[i] = 5
	}
	lit, dist := new(huffman), new(huffman)
	lit.init(l[:])
	dist.init(d[:])
	return lit, dist
}()

// RFC 1951 3.2.5: lengths (codes 257..285) and distances (codes 0..29),
// base values and extra bits.
var (
	lenBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
		35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)
