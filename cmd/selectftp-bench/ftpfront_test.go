package main

import (
	"io"
	"strings"
	"testing"
)

func TestFTPFrontWorkload(t *testing.T) {
	c, err := parseFlags([]string{"--only", "ftp"}, io.Discard)
	if err != nil || !c.only["ftp"] || c.only["download"] {
		t.Fatalf("--only ftp: %+v, %v", c.only, err)
	}
	b := &bench{cfg: c}
	b.fig.ftpFront = ftpFrontFigures{frontGet: 900, pureGet: 600, frontPut: 300, purePut: 600}
	rows := b.rows()
	if len(rows) != 2 {
		t.Fatalf("%d rows, want the get and the put: %+v", len(rows), rows)
	}
	if !strings.Contains(rows[0].name, "get") || rows[0].ratio != "1.50×" || rows[0].verdict != "PASS" {
		t.Errorf("get row: %+v", rows[0])
	}
	if !strings.Contains(rows[1].name, "put") || rows[1].ratio != "0.50×" || rows[1].verdict != "MISS" {
		t.Errorf("put row: %+v", rows[1])
	}
}
