package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fuzzSeeds returns real frame streams to seed the fuzz targets with: the
// decoded input of every test vector, and whole exchanges built the way
// clients and the server build them. (The vectors' text is no seed: the
// fuzzer would spend its time on hex digits and comments.)
func fuzzSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob("testdata/*.vec")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no test vectors: %v", err)
	}
	var seeds [][]byte
	for _, file := range files {
		input, _ := readVector(tb, file)
		seeds = append(seeds, input)
	}
	frame := func(t Type, msg any) []byte {
		b, err := Marshal(t, msg)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	data := func(s string) []byte { return AppendFrame(nil, TypeData, []byte(s)) }
	end := AppendFrame(nil, TypeEnd, nil)
	// Short messages: decodeAll's parser allows 64-byte control payloads.
	clientHello := frame(TypeHello, Hello{Protocol: ProtocolName, Versions: []int{Version}})
	serverHello := frame(TypeHello, Hello{Protocol: ProtocolName, Version: Version, Server: "sftpd/1"})
	exchanges := [][]byte{
		clientHello,
		serverHello,
		// A client's upload: request, body in two frames, end.
		cat(frame(TypeRequest, Request{Verb: "put", Args: []string{"a.txt"}}), data("hello "), data("world"), end),
		// The server's answer to a download: metadata, body, an empty
		// Data frame, status.
		cat(frame(TypeResponse, Response{Meta: map[string]any{"size": 4}}), data("ab"), data("cd"), data(""),
			frame(TypeStatus, Status{Code: CodeOK})),
		// A whole client side: hello, a request without body, end.
		cat(clientHello, frame(TypeRequest, Request{Verb: "get", Args: []string{"x"}}), end),
		// Version 2: a body that waited for Continue, ended with its
		// digest; the server's ok status with the response's.
		cat(AppendHeader(nil, TypeContinue, 0), data("abc"), frame(TypeEnd, Trailer{Digest: "06b05ab6733a6185"})),
		cat(frame(TypeStatus, Status{Code: CodeOK, Digest: "99aa06d3014798d8"})),
		// A failure: the status alone.
		cat(serverHello, frame(TypeStatus, Status{Code: CodeUnknownVerb, Message: "no"})),
	}
	for _, x := range exchanges {
		// A seed the parser refuses would only seed the error path.
		if ev := decodeAll([][]byte{x}, 1<<30); len(ev) == 0 ||
			strings.HasPrefix(ev[len(ev)-1], "error") || ev[len(ev)-1] == "pending" {
			tb.Fatalf("a real exchange does not decode cleanly: %q", ev)
		}
	}
	return append(seeds, exchanges...)
}

// chunked hands out at most n bytes per Read, as a socket may.
type chunked struct {
	b []byte
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), c.n, len(c.b))
	copy(p, c.b[:k])
	c.b = c.b[k:]
	return k, nil
}

// readAll reads in with a Reader, as a client does, rendering frames as
// decodeAll does. A stream cut inside a frame ends in "truncated"; it fails
// the test if a Data frame yields more than its header announced.
func readAll(t *testing.T, in []byte, chunk, bufLen int, useWriteTo bool) []string {
	r := NewReader(&chunked{b: in, n: chunk}, 64)
	var out []string
	for {
		f, err := r.Next()
		if err != nil {
			return append(out, readerEnd(err))
		}
		switch f.Type {
		case TypeData:
			var body bytes.Buffer
			if useWriteTo {
				_, err = r.WriteTo(&body)
			} else {
				buf := make([]byte, bufLen)
				for {
					var n int
					n, err = r.Read(buf)
					body.Write(buf[:n])
					if err != nil {
						break
					}
				}
				if err == io.EOF {
					err = nil
				}
			}
			if uint64(body.Len()) > uint64(f.Len) {
				t.Fatalf("a Data frame announcing %d bytes yielded %d", f.Len, body.Len())
			}
			if err != nil {
				return append(out, readerEnd(err))
			}
			if uint64(body.Len()) != uint64(f.Len) {
				t.Fatalf("a Data frame announcing %d bytes ended cleanly after %d", f.Len, body.Len())
			}
			out = append(out, "data "+strconv.Quote(body.String()))
		case TypeEnd:
			out = append(out, strings.TrimSpace("end "+string(f.Payload)))
		default:
			if len(f.Payload) != int(f.Len) {
				t.Fatalf("a %v frame announcing %d bytes has a %d-byte payload", f.Type, f.Len, len(f.Payload))
			}
			out = append(out, strings.TrimSpace(fmt.Sprintf("control %v %s", f.Type, f.Payload)))
		}
	}
}

// readerEnd renders how a Reader's stream ended.
func readerEnd(err error) string {
	switch {
	case err == io.EOF:
		return "clean"
	case errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(err.Error(), "closed inside a frame header"):
		return "truncated"
	}
	return "error " + err.Error()
}

// FuzzReader feeds arbitrary bytes to the blocking Reader, handed out in
// chunks of any size and read with Read or WriteTo: it must never panic,
// never yield more of a Data frame than announced, and must agree with the
// Parser on the same bytes: the same frames in the same order, then a clean
// end, a truncated frame, or the same error.
func FuzzReader(f *testing.F) {
	for i, seed := range fuzzSeeds(f) {
		f.Add(seed, uint8(i), uint8(i*7))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk, mode uint8) {
		got := readAll(t, in, 1+int(chunk)%17, 1+int(mode>>1)%9, mode&1 == 1)
		want := decodeAll([][]byte{in}, 1<<30)
		switch {
		case len(want) > 0 && want[len(want)-1] == "pending":
			want[len(want)-1] = "truncated"
		case len(want) == 0 || !strings.HasPrefix(want[len(want)-1], "error "):
			want = append(want, "clean")
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("Reader and Parser disagree:\nreader:\n%s\nparser:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
