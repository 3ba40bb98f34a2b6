package ftpfront

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	ftpserver "github.com/fclairamb/ftpserverlib"

	"github.com/selectftp/selectftp/protocol"
)

// maxSiteOutput bounds what a SITE command may answer on the control
// connection.
const maxSiteOutput = 1 << 20

// GetHandle starts RETR (get), and STOR and APPE (put); see download and
// upload. APPE, and STOR after REST n, are put's append: the new file is
// the current one's bytes (all of them, or the first n) and then the
// data, and it replaces the old one only once the data ended cleanly, as
// a STOR does, so an interrupted resume leaves the old file as it was.
func (d *clientDriver) GetHandle(name string, flags int, offset int64) (ftpserver.FileTransfer, error) {
	p := d.abs(name)
	if flags&(os.O_WRONLY|os.O_RDWR) == 0 {
		if offset < 0 {
			return nil, errors.New("a negative REST offset")
		}
		return d.startDownload(p, offset)
	}
	switch {
	case offset < 0:
		return nil, errors.New("a negative REST offset")
	case flags&os.O_APPEND != 0: // the library drops REST for APPE
		return d.startUpload(p, keepAll)
	}
	return d.startUpload(p, offset)
}

// AllocateSpace takes ALLO's size for the next STOR: the host then fails a
// body that turns out shorter or longer (nothing kept) and refuses at once
// one that cannot fit the user's quota.
func (d *clientDriver) AllocateSpace(size int) error {
	if size < 0 {
		return errors.New("a negative size")
	}
	d.alloSize = int64(size)
	return nil
}

// ComputeHash answers HASH from the sum verb (SHA-256: the one digest both
// sides know; sum's length covers a range from 0).
func (d *clientDriver) ComputeHash(name string, algo ftpserver.HASHAlgo, start, end int64) (string, error) {
	if algo != ftpserver.HASHAlgoSHA256 {
		return "", errors.New("only SHA-256 is offered (OPTS HASH SHA-256)")
	}
	if start != 0 || end < 0 {
		return "", errors.New("only a range from 0 is supported")
	}
	out, _, err := d.capture(call{Verb: "sum", Args: []string{"--checksum", "sha256", "--", d.abs(name)},
		Params: map[string]any{"length": end}, Size: -1}, 64<<10)
	if err != nil {
		return "", err
	}
	hex, _, _ := strings.Cut(string(bytes.TrimSpace(out)), " ")
	if len(hex) != 64 {
		return "", fmt.Errorf("sum answered %q, not a SHA-256", out)
	}
	return hex, nil
}

// Site runs SITE VERB ARGS as that verb, in the client's folder: any
// command the server has, a plugin dropped into its folder too. The output
// comes back as a multi-line 200; a failure with the FTP code of its status.
func (d *clientDriver) Site(param string) *ftpserver.AnswerCommand {
	words := strings.Fields(param)
	if len(words) == 0 {
		return &ftpserver.AnswerCommand{Code: ftpserver.StatusSyntaxErrorParameters, Message: "SITE needs a verb"}
	}
	verb := strings.ToLower(words[0])
	switch verb {
	case "get", "put":
		return &ftpserver.AnswerCommand{Code: ftpserver.StatusNotImplementedParam,
			Message: "SITE " + verb + ": transfers go over a data connection: use RETR or STOR"}
	case "cd", "pwd":
		return &ftpserver.AnswerCommand{Code: ftpserver.StatusNotImplementedParam,
			Message: "SITE " + verb + ": use CWD or PWD"}
	}
	// The host resolves relative paths from its session folder: move it to
	// the client's (CWD is the library's) before the verb runs.
	if dir := d.cc.Path(); dir != d.siteDir {
		if _, err := d.do(d.ctx, call{Verb: "cd", Args: []string{cleanPath(dir)}, Size: -1}); err != nil {
			return &ftpserver.AnswerCommand{Code: ftpserver.StatusActionNotTaken, Message: "SITE: " + err.Error()}
		}
		d.siteDir = dir
	}
	out, res, err := d.capture(call{Verb: verb, Args: words[1:], Size: -1}, maxSiteOutput)
	if err != nil {
		code := replyCode(res.Status.Code)
		if res.Status.Code == protocol.CodeOK || res.Status.Code == "" {
			code = 451
		}
		return &ftpserver.AnswerCommand{Code: code, Message: "SITE " + verb + ": " + oneLine(err.Error())}
	}
	lines := textLines(out)
	if res.Status.Fallback != "" {
		// The fallback's success is not the verb's: a client that asked
		// SITE CHMOD must not read "CHMOD 644 X" as done.
		msg := fmt.Sprintf("SITE %s: no verb %q here; the fallback %q answered:", verb, verb, res.Status.Fallback)
		return &ftpserver.AnswerCommand{Code: ftpserver.StatusCommandNotImplemented, Message: strings.Join(append([]string{msg}, lines...), "\n")}
	}
	if len(lines) == 0 {
		return &ftpserver.AnswerCommand{Code: ftpserver.StatusOK, Message: "SITE " + verb + ": ok"}
	}
	return &ftpserver.AnswerCommand{Code: ftpserver.StatusOK, Message: strings.Join(append(lines, "SITE "+verb+": ok"), "\n")}
}

// textLines splits a verb's output into reply lines, each indented so that
// none can pass for a reply code, with no control characters.
func textLines(out []byte) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if l == "" && len(out) == 0 {
			continue
		}
		lines = append(lines, " "+oneLine(l))
	}
	return lines
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
