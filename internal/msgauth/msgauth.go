package msgauth

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"mailwarden/internal/config"
	"mailwarden/internal/dnsx"
	"mailwarden/internal/envelope"
	"mailwarden/internal/sqldb"
)

// Deps is what verifiers and signers are built from. Every field may be
// nil in a test that does not need it; DNS nil means no lookups (every
// method that needs one answers temperror).
//
// Config checks (check-config, start, reload) call New with only Config
// set: a builder must then check its config (tables and files it names
// included) and return without opening or starting anything; DB nil
// means "validating only".
type Deps struct {
	Config *config.Config
	DB     *sqldb.DB
	DNS    dnsx.Full
	Log    *slog.Logger
	Now    func() time.Time // nil: time.Now
}

// Verifier is one inbound method (iprev, DKIM, DomainKeys, ARC, DMARC).
// It appends its results to m.Env.Auth and may set m.Action (DMARC). A
// DNS failure is a temperror result, not an error; an error means the
// method could not run at all (it is logged and the message goes on).
type Verifier interface {
	Verify(ctx context.Context, m *Message) error
}

// Signer adds fields to a message: DKIM and DomainKeys signatures for
// mail from trusted senders (m.Trusted), the ARC set for mail forwarded
// off this host (m.Forwarded). It returns whole fields ("Name: value",
// folded with CRLF, no final CRLF), top first, or none when the message
// is not its business. They go above every field added before them.
type Signer interface {
	Sign(ctx context.Context, m *Message) ([]string, error)
}

// Verifier and signer orders: lower runs first. A signer that runs later
// puts its fields above the earlier ones and sees them in m.Content.
const (
	OrderIPRev      = 10
	OrderDKIM       = 20
	OrderDomainKeys = 30
	OrderARC        = 40
	OrderDMARC      = 50

	OrderSignDomainKeys = 10 // DomainKey-Signature under DKIM-Signature, as dkimproxy writes them
	OrderSignDKIM       = 20
	OrderSealARC        = 30
)

type registered[T any] struct {
	order int
	name  string
	build func(Deps) (T, error)
}

var (
	regMu     sync.Mutex
	verifiers []registered[Verifier]
	signers   []registered[Signer]
)

// RegisterVerifier adds an inbound method, built once per config by New;
// build returns nil when the config turns the method off. Call it from
// an init function.
func RegisterVerifier(order int, name string, build func(Deps) (Verifier, error)) {
	regMu.Lock()
	defer regMu.Unlock()
	verifiers = append(verifiers, registered[Verifier]{order, name, build})
}

// RegisterSigner adds a signer, as RegisterVerifier does.
func RegisterSigner(order int, name string, build func(Deps) (Signer, error)) {
	regMu.Lock()
	defer regMu.Unlock()
	signers = append(signers, registered[Signer]{order, name, build})
}

type named[T any] struct {
	name string
	v    T
}

func build[T any](d Deps, regs []registered[T]) ([]named[T], error) {
	regs = slices.Clone(regs)
	slices.SortStableFunc(regs, func(a, b registered[T]) int { return cmp.Compare(a.order, b.order) })
	var out []named[T]
	for _, r := range regs {
		v, err := r.build(d)
		if err != nil {
			return nil, fmt.Errorf("msgauth: %s: %w", r.name, err)
		}
		if any(v) != nil {
			out = append(out, named[T]{r.name, v})
		}
	}
	return out, nil
}

// Action is what inbound authentication decided for the message.
type Action int

const (
	Accept     Action = iota
	Quarantine        // deliver into the quarantine folder (Message.Folder)
	Reject            // refuse in the session with Message.Reply
	Defer             // answer 4xx with Message.Reply
)

// Reply is an SMTP reply a verifier wants the session to give.
type Reply struct {
	Code     int
	Enhanced string
	Text     string
}

// ARCVerdict is what the ARC verifier found, for DMARC's local policy
// override (RFC 7489 6.7, RFC 8617 7.2).
type ARCVerdict struct {
	Result string // "pass", "fail", "none" (the chain validation status)
	// Sealers are the d= of each ARC-Seal, instance 1 first.
	Sealers []string
	// OldestAAR is the ARC-Authentication-Results value of instance 1
	// (what the first forwarder saw), "" when none.
	OldestAAR string
}

// Message is one message going through msgauth.
type Message struct {
	Env *envelope.Envelope
	// Content returns the message as it would be delivered now: fields
	// the signers before this one added, the trace, then the message
	// with the header edits so far applied. Call it as often as needed.
	Content func() (io.Reader, error)

	Inbound   bool // verify: mail from outside (not authenticated, not mynetworks)
	Trusted   bool // sign: from an authenticated user or mynetworks
	Forwarded bool // a recipient is forwarded off this host: ARC-seal it

	// ARC is set by the ARC verifier for DMARC.
	ARC ARCVerdict
	// Action, Reply and Folder are set by a verifier (DMARC).
	Action Action
	Reply  Reply
	Folder string // for Quarantine, e.g. "Junk"
	// AuthResults is the Authentication-Results value written for this
	// message (after the authserv-id), for the ARC sealer.
	AuthResults string

	hdr *headerCache
}

// Auth runs the verifiers and signers of one config.
type Auth struct {
	hostname  string
	log       *slog.Logger
	verifiers []named[Verifier]
	signers   []named[Signer]
}

// New builds every registered method the config turns on.
func New(d Deps) (*Auth, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	regMu.Lock()
	vr, sr := slices.Clone(verifiers), slices.Clone(signers)
	regMu.Unlock()
	a := &Auth{log: d.Log}
	if d.Config != nil {
		a.hostname = d.Config.Hostname
	}
	var err error
	if a.verifiers, err = build(d, vr); err != nil {
		return nil, err
	}
	if a.signers, err = build(d, sr); err != nil {
		return nil, err
	}
	return a, nil
}

// Edits is what Run asks of the message: header edits for the envelope,
// in order (removals of forged Authentication-Results, then fields to
// prepend, the last one topmost).
type Edits []envelope.HeaderEdit

// Run verifies an inbound message (m.Inbound), writes its
// Authentication-Results, then lets the signers sign or seal it. The
// edits it returns are also appended to m.Env.Header.
func (a *Auth) Run(ctx context.Context, m *Message) error {
	if m.Inbound {
		if err := a.verify(ctx, m); err != nil {
			return err
		}
	}
	for _, s := range a.signers {
		fields, err := s.v.Sign(ctx, m)
		if err != nil {
			// Mail is not held back for a signature: it goes unsigned,
			// as OpenDKIM's On-InternalError=accept does.
			a.log.Warn(m.Env.ID + ": " + s.name + ": " + err.Error())
			continue
		}
		m.prepend(fields...)
	}
	return nil
}

// prepend puts fields (top first) above every field prepended so far: the
// delivered header then reads newest first, as each hop's fields go on
// top (a later signer's above an earlier one's, all above the checks'
// fields and the trace).
func (m *Message) prepend(fields ...string) {
	at := len(m.Env.Header)
	for i, e := range m.Env.Header {
		if e.Op == envelope.Prepend {
			at = i
			break
		}
	}
	edits := make([]envelope.HeaderEdit, len(fields))
	for i, f := range fields {
		edits[i] = envelope.HeaderEdit{Op: envelope.Prepend, Field: f}
	}
	m.Env.Header = slices.Insert(m.Env.Header, at, edits...)
}

// verify runs the verifiers, drops forged Authentication-Results and
// prepends ours.
func (a *Auth) verify(ctx context.Context, m *Message) error {
	if a.hostname != "" {
		forged, err := m.forgedAuthResults(a.hostname)
		if err != nil {
			return err
		}
		if forged {
			// RFC 8601 5: remove fields that claim to be ours.
			m.Env.Header = append(m.Env.Header, envelope.HeaderEdit{Op: envelope.RemoveAuthServID,
				Name: "Authentication-Results", Field: a.hostname})
		}
	}
	for _, v := range a.verifiers {
		if err := v.v.Verify(ctx, m); err != nil {
			a.log.Warn(m.Env.ID + ": " + v.name + ": " + err.Error())
		}
	}
	if a.hostname == "" {
		return nil
	}
	value := FormatResults(m.Env.Auth)
	m.AuthResults = value
	m.prepend("Authentication-Results: " + a.hostname + ";" + value)
	return nil
}
