package dmarcreport

import (
	"testing"
)

func FuzzExtract(f *testing.F) {
	doc, _ := sampleFeedback("r1").Marshal()
	f.Add(doc)
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n\r\nH4sIAAAAAAAA\r\n--x--\r\n"))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := Extract(data)
		if err == nil && len(fs) == 0 {
			t.Fatal("no error and no report")
		}
		for _, f := range fs {
			if f.Metadata.ReportID == "" || f.Policy.Domain == "" || len(f.Records) > 200000 {
				t.Fatalf("accepted an incomplete report: %+v", f.Metadata)
			}
		}
	})
}
