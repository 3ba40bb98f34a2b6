package main

import (
	"strings"
	"testing"
)

// -c is taken by get and put, but a stream cannot be resumed: a clear
// usage error, before anything is sent.
func TestResumeFlagUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"put", "-c", "-", "x"}, "selectftp: put -c -: stdin cannot be resumed\n"},
		{[]string{"get", "-c", "x", "-"}, "selectftp: get -c x -: stdout cannot be resumed\n"},
		{[]string{"get", "-cx", "x"}, "selectftp: get: unknown flag -x; usage: get [-c] [-r] [-p] REMOTE [LOCAL]\n"},
	} {
		code, stdout, stderr := runWith(t, "", append([]string{"--addr", "127.0.0.1:1"}, tc.args...)...)
		if code != exitUsage || stdout != "" || stderr != tc.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %q", tc.args, code, stdout, stderr, tc.want)
		}
		if strings.Contains(stderr, "connect") {
			t.Errorf("%q dialled", tc.args)
		}
	}
}
