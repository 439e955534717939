package event

// Source implementations: events with a fixed program name it; the others
// report the Program field (defaulting to the usual one when empty).

func orDefault(p, def Program) Program {
	if p == "" {
		return def
	}
	return p
}

// Source implements Event.
func (e *Connect) Source() Program { return orDefault(e.Program, Smtpd) }

// Source implements Event.
func (e *Disconnect) Source() Program { return orDefault(e.Program, Smtpd) }

// Source implements Event.
func (e *Lost) Source() Program { return orDefault(e.Program, Smtpd) }

// Source implements Event.
func (e *TooManyConnections) Source() Program { return orDefault(e.Program, Smtpd) }

// Source implements Event.
func (e *Blocked) Source() Program { return orDefault(e.Program, Smtpd) }

// Source implements Event.
func (e *Reject) Source() Program { return orDefault(e.Program, Smtpd) }

// Source implements Event.
func (e *Queued) Source() Program { return orDefault(e.Program, Smtpd) }

// Source implements Event.
func (e *AuthFailed) Source() Program { return orDefault(e.Program, Submission) }

// Source implements Event.
func (e *AuthOK) Source() Program { return orDefault(e.Program, Submission) }

// Source implements Event.
func (e *MessageID) Source() Program { return Cleanup }

// Source implements Event.
func (e *Received) Source() Program { return Qmgr }

// Source implements Event.
func (e *Submitted) Source() Program { return Pickup }

// Source implements Event.
func (e *Delivery) Source() Program { return orDefault(e.Program, SMTP) }

// Source implements Event.
func (e *Expired) Source() Program { return Qmgr }

// Source implements Event.
func (e *Removed) Source() Program { return Qmgr }

// Source implements Event.
func (e *Admin) Source() Program { return Postsuper }

// Source implements Event.
func (e *DSN) Source() Program { return Bounce }

// Source implements Event.
func (e *Login) Source() Program { return orDefault(e.Program, IMAPLogin) }

// Source implements Event.
func (e *LoginDisconnect) Source() Program { return orDefault(e.Program, IMAPLogin) }

// Source implements Event.
func (e *Logout) Source() Program { return orDefault(e.Program, IMAP) }

// Source implements Event.
func (e *Note) Source() Program { return orDefault(e.Program, Master) }
