package pluginrpc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/pb"
	"github.com/selectftp/selectftp/sdk"
)

// takeTimeout bounds the wait for a descriptor whose gRPC message overtook
// it on the other channel.
const takeTimeout = 10 * time.Second

// FileSender is implemented by response writers that can send a file range
// themselves (the host's, with sendfile); known, when not nil, is the
// digest of the range, which is then the whole response body.
type FileSender interface {
	SendFileDigest(f *os.File, off, n int64, known []byte) error
}

// DirSetter is implemented by response writers that keep the session's
// current folder (the host's): sdk.SetDir in a plugin lands here.
type DirSetter interface {
	SetSessionDir(dir string) error
}

// BodyFileWriter is implemented by request bodies that can write the rest
// of an upload into a file themselves (the host's), hashing as they go in
// the request's algorithm and verifying at the end.
type BodyFileWriter interface {
	WriteBodyTo(f *os.File, off, limit int64) (written int64, sum []byte, over bool, err error)
}

func (r *Remote) take(token uint64) (*os.File, error) {
	if r.files == nil {
		return nil, sdk.Errorf(sdk.CodeInternal, "plugin %s passed a file, but no channel was set up", r.name)
	}
	f, err := r.files.Take(token, takeTimeout)
	if err != nil {
		return nil, sdk.Errorf(sdk.CodeInternal, "plugin %s: %v", r.name, err)
	}
	return f, nil
}

// sendFile sends a range of a file the plugin passed, as body data.
func (r *Remote) sendFile(w sdk.ResponseWriter, m *pb.SendFile) error {
	f, err := r.take(m.Token)
	if err != nil {
		return err
	}
	defer f.Close()
	if fs, ok := w.(FileSender); ok {
		return fs.SendFileDigest(f, m.Offset, m.Length, m.Digest)
	}
	_, err = io.Copy(w, io.NewSectionReader(f, m.Offset, m.Length))
	return err
}

// bodyToFile writes the rest of the request body into the file the plugin
// passed and says how it went.
func (r *Remote) bodyToFile(body io.Reader, alg checksum.Algorithm, m *pb.BodyToFile) *pb.BodyDone {
	done := &pb.BodyDone{Token: m.Token}
	f, err := r.take(m.Token)
	if err != nil {
		done.Code, done.Message = string(sdk.CodeOf(err)), sdk.MessageOf(err)
		return done
	}
	defer f.Close()
	var sum []byte
	if bw, ok := body.(BodyFileWriter); ok {
		done.Written, sum, done.Over, err = bw.WriteBodyTo(f, m.Offset, m.Limit)
	} else {
		done.Written, sum, done.Over, err = copyBody(f, body, alg, m.Offset, m.Limit)
	}
	done.Digest = sum
	if err != nil {
		done.Code, done.Message = string(sdk.CodeOf(err)), sdk.MessageOf(err)
	}
	return done
}

// copyBody is bodyToFile for bodies that cannot do it themselves.
func copyBody(f *os.File, body io.Reader, alg checksum.Algorithm, off, limit int64) (int64, []byte, bool, error) {
	if body == nil {
		return 0, alg.New().Sum(nil), false, nil
	}
	h := alg.New()
	src := body
	if limit >= 0 {
		src = io.LimitReader(body, limit)
	}
	n, err := io.Copy(io.MultiWriter(io.NewOffsetWriter(f, off), h), src)
	if err != nil {
		return n, nil, false, fmt.Errorf("write the upload: %w", err)
	}
	over := false
	if limit >= 0 && n == limit {
		var one [1]byte
		m, rerr := io.ReadFull(body, one[:])
		over = m > 0
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return n, nil, false, rerr
		}
	}
	return n, h.Sum(nil), over, nil
}
