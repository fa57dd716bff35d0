#!/bin/sh
# fake-sendmail.sh - a stand-in for sendmail, for notify-test.sh.  Run as
# `fake-sendmail.sh -t -oi` with a mail on standard input; what it does is
# read from $FAKE_SENDMAIL_DIR/mode (default ok):
#   ok        keep the mail as $FAKE_SENDMAIL_DIR/mail-N.eml (N counts up)
#             and its arguments in mail-N.args; exit 0
#   tempfail  say "queue full" on standard error; exit 75 (EX_TEMPFAIL)
#   fail      say "unknown user" on standard error; exit 67 (EX_NOUSER)
#   crash     kill itself with SIGSEGV
#   hang      sleep for a minute (the caller's time limit must end it)
#   noread    exit 0 without reading the mail
# Never sends anything anywhere.
dir=${FAKE_SENDMAIL_DIR:?}
mode=$(cat "$dir/mode" 2>/dev/null || echo ok)
case $mode in
ok)
	n=$(ls "$dir" | grep -c '^mail-.*\.eml$')
	n=$((n + 1))
	cat > "$dir/mail-$n.eml"
	printf '%s\n' "$*" > "$dir/mail-$n.args"
	exit 0 ;;
tempfail) cat > /dev/null; echo "queue full, try later" >&2; exit 75 ;;
fail) cat > /dev/null; echo "unknown user" >&2; printf 'second line\n' >&2; exit 67 ;;
crash) cat > /dev/null; kill -SEGV $$; sleep 5; exit 0 ;;
hang) echo $$ > "$dir/hang.pid"; exec sleep 60 ;;
noread) exit 0 ;;
esac
echo "fake-sendmail: unknown mode '$mode'" >&2
exit 64
