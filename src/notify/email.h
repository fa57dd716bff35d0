/* email - owner notices by mail: the email_notice event sink.
 *
 * With LEADROUTE_SENDMAIL (the sendmail program, an absolute path such as
 * /usr/sbin/sendmail) and LEADROUTE_NOTIFY_FROM (the sender, e.g.
 * "Leadroute <leads@acme.example>") both set, every `owner_assigned`
 * event mails the member who got the lead (members are email addresses in
 * the rules) a plain-text notice: the lead's name, company, email, country
 * and employees, the queue, the rule's line and the CRM link
 * (notice.h, crmlink.h).  The mail goes through mailer.h (`sendmail -t
 * -oi`); its verdict is the sink's.  Only one of the two set is a setting
 * error; neither set means no sink.
 *
 * Headers: From, To, Subject, Date (the event's time), Message-ID (made
 * from the event id and the lead id, so a mail sent again after a lost
 * answer has the same id and a mail system can drop the copy),
 * Auto-Submitted: auto-generated, MIME-Version and a UTF-8 text/plain
 * Content-Type.  No header can be injected: every value has its CR, LF and
 * other control characters turned into spaces, a Subject that is not ASCII
 * is RFC 2047-encoded, and the To address must be one plain address
 * (local@domain, no spaces, commas or brackets) or the event is DEAD.
 *
 * A sink borrows the store it is given and is used by one thread.
 */
#ifndef LR_NOTIFY_EMAIL_H
#define LR_NOTIFY_EMAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "events/sink.h"
#include "notify/notice.h"
#include "util/buf.h"

struct store;

/* addr is one plain address (local@domain of RFC 5321's common characters,
 * at most 254 bytes) that a To header can carry as it is. */
bool email_address_ok(const char *addr);

/* Append "Name: value\n" to b: value with control characters (CR and LF
 * included) as spaces and, when it is not all ASCII, as RFC 2047 encoded
 * words (UTF-8, base64) folded onto continuation lines. */
void email_add_header(struct buf *b, const char *name, const char *value);

/* The whole mail (headers, blank line, body; LF line ends) telling
 * n->member about an owner_assigned notice, from `from`.  A new string
 * (caller frees), or NULL with err filled when n->member is not a plain
 * address or the notice is not an assignment. */
char *email_notice_message(const struct notice *n, const char *from, char *err, size_t errlen);

/* The sink.  NULL with err empty when LEADROUTE_SENDMAIL and
 * LEADROUTE_NOTIFY_FROM are both unset; NULL with err filled when only one
 * is set, the program is not an absolute path to an executable, the
 * sender is not an address, or LEADROUTE_CRM_LINK or
 * LEADROUTE_NOTIFY_TIMEOUT_MS is wrong.  s is borrowed for the sink's life. */
struct sink *email_notice_open(struct store *s, char *err, size_t errlen);

#endif
