package protocol

import (
	"testing"
)

// The decoder's hot paths, with allocations: a small request (one control
// frame and End), and body data in 64 KiB reads as the server sees it.

func BenchmarkParseRequest(b *testing.B) {
	req, _ := Marshal(TypeRequest, Request{Verb: "upper", Args: []string{"hello", "world"}})
	in := AppendHeader(req, TypeEnd, 0)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	var p Parser
	for b.Loop() {
		for rest := in; len(rest) > 0; {
			_, n, err := p.Next(rest)
			if err != nil {
				b.Fatal(err)
			}
			rest = rest[n:]
		}
	}
}

func BenchmarkParseSplitControl(b *testing.B) {
	req, _ := Marshal(TypeRequest, Request{Verb: "get", Params: map[string]any{"path": "some/file name.bin"}})
	half := len(req) / 2
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	var p Parser
	for b.Loop() {
		p.Next(req[:half])
		if ev, _, _ := p.Next(req[half:]); ev.Kind != EventControl {
			b.Fatal("no event")
		}
	}
}

func BenchmarkParseData(b *testing.B) {
	const read = 64 << 10
	buf := make([]byte, read)
	b.SetBytes(read)
	b.ReportAllocs()
	var p Parser
	p.Next(AppendHeader(nil, TypeData, MaxData))
	for b.Loop() {
		for rest := buf; len(rest) > 0; {
			ev, n, err := p.Next(rest)
			if err != nil {
				b.Fatal(err)
			}
			rest = rest[n:]
			if ev.Last { // 4 GiB later: the next frame
				p.Next(AppendHeader(nil, TypeData, MaxData))
			}
		}
	}
}

func BenchmarkMarshalStatus(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(TypeStatus, Status{Code: CodeOK}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendHeader(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, HeaderLen)
	for b.Loop() {
		buf = AppendHeader(buf[:0], TypeData, 1<<20)
	}
}
