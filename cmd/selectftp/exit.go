package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/protocol"
)

// Exit codes by cause; README.md lists them for scripts.
const (
	exitOK          = 0
	exitFailed      = 1 // any other failure
	exitUsage       = 2 // a command typed wrong
	exitNotFound    = 3 // the remote path does not exist
	exitRefused     = 4 // the server refused: permission, exists, too large, no space, bad request, the login
	exitNetwork     = 5 // no connection, or it broke
	exitIntegrity   = 6 // a checksum mismatch
	exitInterrupted = 130
)

// exitCode maps a command's error to the exit status of its cause.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	switch client.Code(err) {
	case protocol.CodeNotFound:
		return exitNotFound
	case protocol.CodePermission, protocol.CodeExists, protocol.CodeTooLarge, protocol.CodeNoSpace, protocol.CodeQuotaExceeded,
		protocol.CodeBadRequest, protocol.CodeNameTooLong, protocol.CodeAuthFailed, protocol.CodeUnauthenticated, protocol.CodeBanned:
		return exitRefused
	case protocol.CodeChecksum:
		return exitIntegrity
	case protocol.CodeProtocol, protocol.CodeUnsupportedVersion, protocol.CodeBusy, protocol.CodeShuttingDown, protocol.CodeTimeout:
		return exitNetwork
	case "":
		if isNetwork(err) {
			return exitNetwork
		}
	}
	return exitFailed
}

func isNetwork(err error) bool {
	// net.Error would match a bare syscall.Errno too, a local file's.
	var oe *net.OpError
	return errors.Is(err, client.ErrClosed) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED)
}

// codeWords are the status codes a user meets, in words.
var codeWords = map[protocol.Code]string{
	protocol.CodeNotFound: "not found", protocol.CodeExists: "already exists", protocol.CodePermission: "not allowed",
	protocol.CodeBadRequest: "refused", protocol.CodeTooLarge: "too large", protocol.CodeNoSpace: "no space left on the server",
	protocol.CodeNameTooLong: "name too long", protocol.CodeChecksum: "checksum mismatch", protocol.CodeUnknownVerb: "unknown command",
	protocol.CodeInternal: "server error", protocol.CodeQuotaExceeded: "over your quota",
}

// describe renders err for a user: a server's code in words, then its
// message (which names the path as typed), then the code itself in
// brackets, which scripts and tests grep for.
func describe(err error) string {
	text := err.Error()
	var se *protocol.StatusError
	if !errors.As(err, &se) {
		return text
	}
	words, ok := codeWords[se.Code]
	if !ok || se.Message == "" {
		return text
	}
	i := strings.Index(text, se.Error())
	if i < 0 {
		return text
	}
	// The file verbs' messages are already words and name the command
	// and path ("rm a: no such file or folder"): "rm: " before them
	// would say it twice.
	if verb := strings.TrimSuffix(text[:i], ": "); verb != "" && !strings.ContainsAny(verb, " :") && strings.HasPrefix(se.Message, verb+" ") {
		return fmt.Sprintf("%s [%s]", se.Message, se.Code) + text[i+len(se.Error()):]
	}
	return text[:i] + fmt.Sprintf("%s: %s [%s]", words, se.Message, se.Code) + text[i+len(se.Error()):]
}

// report prints a failed command: one line on stderr and, with --json, an
// error object on stdout.
func (s *session) report(prefix string, err error) {
	fmt.Fprintf(s.stderr, "selectftp: %s%s\n", prefix, describe(err))
	if s.json {
		code := string(client.Code(err))
		if code == "" {
			code = map[int]string{exitUsage: "usage", exitNetwork: "network", exitInterrupted: "interrupted"}[exitCode(err)]
		}
		if code == "" {
			code = "failed"
		}
		s.emit(map[string]any{"error": prefix + describe(err), "code": code})
	}
}

// emit writes one JSON object on a line of stdout.
func (s *session) emit(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = s.stdout.Write(append(b, '\n'))
	return err
}
