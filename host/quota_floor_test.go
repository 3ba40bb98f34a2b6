package host

import (
	"testing"

	"github.com/selectftp/selectftp/host/auth"
)

// Finding 5 of the session 15 review: where put cannot swap names
// atomically (renameat2 flags refused: NFS, CIFS, FUSE, non-Linux) it
// measures the file it replaces by name, so a rm racing it frees the
// same file twice. Reports that free more than the user has must never
// read as room past the quota: here ten such races would, unfloored,
// leave the usage at -89,000 and let a 10,000-byte quota take 99,000.
func TestQuotaFloorDoubleFree(t *testing.T) {
	ul := &userLimits{lim: auth.Limits{QuotaBytes: 10_000, QuotaFiles: 5},
		u: &userState{scanned: true, bytes: 9_000, files: 1}}
	for range 10 {
		// rm takes f (9,000); the put that measured f by name before
		// rm took it reports its 100-byte file as replacing 9,000.
		(&reqLimits{ul: ul}).settleUsage(-9_000, -1)
		(&reqLimits{ul: ul}).settleUsage(100-9_000, 0)
		(&reqLimits{ul: ul}).settleUsage(9_000, 1) // f put back
	}
	rl := &reqLimits{ul: ul}
	if err := rl.take(ul.lim.QuotaBytes + 1); err == nil {
		t.Fatalf("a body of quota+1 bytes was taken: usage %d bytes %d files after double frees", ul.u.bytes, ul.u.files)
	}
	if ul.u.bytes < 0 || ul.u.files < 0 {
		t.Errorf("usage %d bytes %d files: below zero with nothing reserved", ul.u.bytes, ul.u.files)
	}
}

// The floor is the other requests' reservations, not 0: a replacement's
// decrease that settles before the increase of the upload it displaced
// (still reserved) is kept whole, so the pair ends exact (finding 7 of
// session 14, which a clamp at 0 broke).
func TestQuotaFloorKeepsReservedRace(t *testing.T) {
	ul := &userLimits{lim: auth.Limits{QuotaBytes: 100_000},
		u: &userState{scanned: true}}
	first := &reqLimits{ul: ul}
	if err := first.take(9_000); err != nil { // its 9,000 bytes are placed
		t.Fatal(err)
	}
	second := &reqLimits{ul: ul}
	if err := second.take(100); err != nil {
		t.Fatal(err)
	}
	second.settleUsage(100-9_000, 0) // replaced first's file, settles first
	first.settleUsage(9_000, 1)
	if ul.u.bytes != 100 || ul.u.files != 1 || ul.u.resBytes != 0 {
		t.Errorf("usage %d bytes %d files, %d reserved; want 100, 1, 0", ul.u.bytes, ul.u.files, ul.u.resBytes)
	}
}
