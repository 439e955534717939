"""The connection the comparison scripts share: imaplib against
Mailwarden over TCP (tcp HOST PORT USER PASSWORD) or against Dovecot's
imap binary in preauth mode (stream COMMAND), keeping every response line
in .log while .log is a list."""
import imaplib


def _logged(base):
    class Logged(base):
        log = None

        def _get_line(self):
            line = super()._get_line()
            if self.log is not None:
                self.log.append(line.decode("utf-8", "replace"))
            return line
    return Logged


TCP = _logged(imaplib.IMAP4)
Stream = _logged(imaplib.IMAP4_stream)


def connect(argv):
    """The client argv (sys.argv) names, logged in."""
    if argv[1] == "tcp":
        c = TCP(argv[2], int(argv[3]))
        c.login(argv[4], argv[5])
        return c
    return Stream(argv[2])
