package imapwire

import "testing"

func TestMailboxNameUTF7(t *testing.T) {
	cases := []struct{ utf8, mutf7 string }{
		{"INBOX", "INBOX"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"A&B", "A&-B"},
		{"&", "&-"},
		{"Gelöschte Elemente", "Gel&APY-schte Elemente"},
		{"😀", "&2D3eAA-"},
		{"Tab\there", "Tab&AAk-here"},
		{"", ""},
	}
	for _, tc := range cases {
		if got := EncodeMailboxName(tc.utf8); got != tc.mutf7 {
			t.Errorf("Encode(%q) = %q, want %q", tc.utf8, got, tc.mutf7)
		}
		if got, err := DecodeMailboxName(tc.mutf7); err != nil || got != tc.utf8 {
			t.Errorf("Decode(%q) = %q, %v", tc.mutf7, got, err)
		}
	}
	for _, bad := range []string{
		"&", "&AGE", "&AGE=-", "&AGE/-", "Entw\xc3\xbcrfe", "&AEE-", // unterminated, padding, "/", 8-bit, encoded "A"
		"&2D0-", // lone high surrogate
		"&AP-",  // odd number of octets / non-zero bits
	} {
		if got, err := DecodeMailboxName(bad); err == nil {
			t.Errorf("Decode(%q) = %q, want error", bad, got)
		}
	}
}
