package protocol

import (
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Each testdata/*.vec file is a test vector: an "-- input --" section of hex
// bytes (# starts a comment) and an "-- events --" section with one line per
// event the parser must produce, whatever way the input is cut into reads:
//
//	control TYPE PAYLOAD   a control frame, payload as text
//	data "QUOTED"          a whole Data frame's payload, Go-quoted
//	end [TRAILER]          an End frame, and its trailer as text
//	error TEXT             decoding fails with an error containing TEXT
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.vec")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test vectors: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			input, want := readVector(t, file)
			cuts := map[string][][]byte{"whole": {input}, "bytewise": split(input, 1)}
			for i := 1; i < len(input); i++ {
				cuts["at"+strconv.Itoa(i)] = [][]byte{input[:i], input[i:]}
			}
			rng := rand.New(rand.NewSource(1))
			for i := range 20 {
				cuts["random"+strconv.Itoa(i)] = randomSplit(rng, input)
			}
			for name, pieces := range cuts {
				for _, limit := range []int{1 << 30, 3, 1} {
					got := decodeAll(pieces, limit)
					if strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Fatalf("%s, data limit %d:\ngot:\n%s\nwant:\n%s", name, limit,
							strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
				}
			}
		})
	}
}

// decodeAll runs a parser over pieces as a server would, and renders its
// events in the vector format.
func decodeAll(pieces [][]byte, limit int) []string {
	var p Parser
	p.MaxControl = 64
	var out []string
	var data []byte
	for _, in := range pieces {
		for len(in) > 0 {
			ev, n, err := p.NextLimit(in, limit)
			in = in[n:]
			if err != nil {
				return append(out, "error "+err.Error())
			}
			switch ev.Kind {
			case EventControl:
				out = append(out, strings.TrimSpace(fmt.Sprintf("control %v %s", ev.Type, ev.Payload)))
			case EventData:
				data = append(data, ev.Payload...)
				if ev.Last {
					out = append(out, "data "+strconv.Quote(string(data)))
					data = nil
				}
			case EventEnd:
				out = append(out, strings.TrimSpace("end "+string(ev.Payload)))
			case EventNone:
				if n == 0 {
					panic("parser made no progress")
				}
			}
		}
	}
	if p.Pending() {
		out = append(out, "pending")
	}
	return out
}

func readVector(t testing.TB, file string) (input []byte, events []string) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	section := ""
	for _, line := range strings.Split(string(raw), "\n") {
		if i := strings.Index(line, "#"); i >= 0 && section == "input" {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --"):
			section = strings.Trim(line, "- ")
		case section == "input":
			b, err := hex.DecodeString(strings.ReplaceAll(line, " ", ""))
			if err != nil {
				t.Fatalf("%s: bad hex %q: %v", file, line, err)
			}
			input = append(input, b...)
		case section == "events":
			events = append(events, line)
		}
	}
	return input, events
}

func split(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

func randomSplit(rng *rand.Rand, b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := 1 + rng.Intn(len(b))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// FuzzParser feeds arbitrary bytes, cut at an arbitrary point, to the parser:
// it must never panic, never make no progress, never hand out more than it
// was given, and must decode the same events however the input is cut. It is
// seeded with real frames (see fuzzSeeds), not the vectors' text.
func FuzzParser(f *testing.F) {
	for i, seed := range fuzzSeeds(f) {
		f.Add(seed, uint8(i*5))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint8) {
		whole := decodeAll([][]byte{in}, 1<<30)
		c := int(cut) % (len(in) + 1)
		parts := decodeAll([][]byte{in[:c], in[c:]}, 1+int(cut)%7)
		if strings.Join(whole, "\n") != strings.Join(parts, "\n") {
			t.Fatalf("cut at %d changed the events:\n%v\nvs\n%v", c, whole, parts)
		}
	})
}
