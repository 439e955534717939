package imapwire

// IsObjectID reports whether s is an objectid of RFC 8474 7:
// 1*255(ALPHA / DIGIT / "_" / "-").
func IsObjectID(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// objectID reads the objectid argument of SEARCH EMAILID/THREADID (RFC
// 8474 6). The grammar has a bare objectid; a quoted one is taken too,
// as long as its content is an objectid.
func (r *Reader) objectID() (string, error) {
	s, err := r.astring()
	if err != nil {
		return "", err
	}
	if !IsObjectID(s) {
		return "", r.errorf("invalid object id")
	}
	return s, nil
}
