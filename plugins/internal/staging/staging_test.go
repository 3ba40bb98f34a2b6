package staging

import (
	"regexp"
	"testing"
)

// A resumable staging name is fixed for a file, differs between files,
// stays short for a long name, and is reserved like every staging name.
func TestResumeName(t *testing.T) {
	shape := regexp.MustCompile(`^\.selectftp-part-r-[0-9a-f]{32}$`)
	long := string(make([]byte, 255))
	for _, tt := range []struct{ a, b string }{
		{"notes.txt", "notes.txt2"},
		{"a", "A"},
		{long, "x"},
	} {
		a, b := ResumeName(tt.a), ResumeName(tt.b)
		if !shape.MatchString(a) || !shape.MatchString(b) {
			t.Errorf("ResumeName(%.20q) = %q, ResumeName(%.20q) = %q: not the spec's shape", tt.a, a, tt.b, b)
		}
		if a == b || a != ResumeName(tt.a) {
			t.Errorf("ResumeName(%.20q) = %q, of %.20q %q: not one fixed name per file", tt.a, a, tt.b, b)
		}
		if !Is(a) || !IsResume(a) || Check("sub/"+a) == nil {
			t.Errorf("%q is not reserved: Is %v IsResume %v", a, Is(a), IsResume(a))
		}
	}
	// The spec fixes the name: the first 16 bytes of SHA-256 of the base.
	if got, want := ResumeName("notes.txt"), ".selectftp-part-r-e39538e7f27a7bf579cd9b85a103c0f0"; got != want {
		t.Errorf("ResumeName(notes.txt) = %q, want %q", got, want)
	}
	if IsResume(Name()) {
		t.Error("an ordinary staging name is taken for a resumable one")
	}
}
