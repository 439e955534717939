package delivery

import (
	"context"
	"log/slog"
	"strconv"
)

// Discard is the Target that accepts and drops: a DISCARD verdict (the
// client is told the message was accepted, nothing is delivered).
type Discard struct {
	// Log receives one line per discarded message; nil logs nothing.
	Log *slog.Logger
}

// Start implements Target.
func (d *Discard) Start(_ context.Context, msg *Message) (Tx, error) {
	return &discardTx{d: d, msg: msg}, nil
}

type discardTx struct {
	d     *Discard
	msg   *Message
	rcpts []Routed
}

func (t *discardTx) AddRcpt(_ context.Context, rc Routed) error {
	t.rcpts = append(t.rcpts, rc)
	return nil
}

func (t *discardTx) Body(context.Context, Body) error { return nil }

func (t *discardTx) Commit(_ context.Context, g *Group) error {
	if t.d.Log != nil && len(t.rcpts) > 0 {
		g.OnCommit(func() {
			why := "discarded"
			for _, v := range t.msg.Env.Verdicts {
				if v.Action == ActionDiscard {
					why = v.Check
					if v.Reply != "" {
						why += ": " + v.Reply
					}
					break
				}
			}
			// Postfix's cleanup line for DISCARD: one per message.
			t.d.Log.Info(t.msg.Env.ID + ": discard: " + why + "; from=<" + t.msg.Env.From + "> nrcpt=" + strconv.Itoa(len(t.rcpts)))
		})
	}
	return nil
}

func (t *discardTx) Abort() {}
