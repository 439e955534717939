package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is returned when a body grows beyond the spool's limit.
var ErrTooLarge = errors.New("message too large")

// Spool holds a message body: in memory up to a threshold, then in a
// temporary file. Write it once, then read it as often as needed.
type Spool struct {
	dir       string
	threshold int
	limit     int64
	buf       bytes.Buffer
	file      *os.File
	size      int64
}

// NewSpool returns a spool that moves to a file in dir after threshold
// bytes and fails with ErrTooLarge past limit bytes.
func NewSpool(dir string, threshold int, limit int64) *Spool {
	return &Spool{dir: dir, threshold: threshold, limit: limit}
}

// Write appends to the body.
func (s *Spool) Write(p []byte) (int, error) {
	if s.limit > 0 && s.size+int64(len(p)) > s.limit {
		return 0, ErrTooLarge
	}
	if s.file == nil && s.buf.Len()+len(p) > s.threshold {
		f, err := os.CreateTemp(s.dir, "spool-*")
		if err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
		os.Remove(f.Name()) // anonymous: gone when closed, even after a crash
		if _, err := f.Write(s.buf.Bytes()); err != nil {
			f.Close()
			return 0, fmt.Errorf("spool: %w", err)
		}
		s.buf = bytes.Buffer{}
		s.file = f
	}
	var n int
	var err error
	if s.file != nil {
		n, err = s.file.Write(p)
	} else {
		n, err = s.buf.Write(p)
	}
	s.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("spool: %w", err)
	}
	return n, nil
}

// ReadFrom fills the spool from r.
func (s *Spool) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Size is the number of bytes written.
func (s *Spool) Size() int64 { return s.size }

// Bytes returns the body when it is held in memory, else nil.
func (s *Spool) Bytes() []byte {
	if s.file != nil {
		return nil
	}
	return s.buf.Bytes()
}

// Reader returns a new reader over the whole body.
func (s *Spool) Reader() io.Reader {
	if s.file != nil {
		return io.NewSectionReader(s.file, 0, s.size)
	}
	return bytes.NewReader(s.buf.Bytes())
}

// Close releases the memory or the temporary file.
func (s *Spool) Close() error {
	s.buf = bytes.Buffer{}
	if s.file != nil {
		err := s.file.Close()
		s.file = nil
		return err
	}
	return nil
}
