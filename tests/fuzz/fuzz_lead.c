/* fuzz_lead - a submitted lead through the lead parser and normalization.
 *
 * The input is taken two ways:
 *   1. as JSON (json-c): when it is an object, lead_from_json fills a lead
 *      and lead_normalize turns it into facts for a fixed program compiled
 *      once in LLVMFuzzerInitialize, with strict names off and an account
 *      index, then on and without one.  The facts are checked (present
 *      values have text, text is already normal, enum values are declared,
 *      numbers are finite, lengths within the limits), the return value
 *      against the errors, and the lead is routed through the tree and the
 *      sequential evaluator, which must agree;
 *   2. as a C string (up to the first NUL): norm_text, norm_number,
 *      norm_upper and lead_registrable_domain, checking what normalize.h
 *      promises (no control bytes, no space at either end or twice in a
 *      row, no ASCII capitals, idempotence, finite numbers).
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "lead/lead.h"
#include "lead/normalize.h"
#include "lead/refdata.h"
#include "rules/diag.h"
#include "rules/eval.h"
#include "rules/ruleset.h"
#include "rules/tree.h"

static const char program_text[] =
	"# the fixed program leads are normalized for (every field type)\n"
	"field plan: text\n"
	"field seats: number\n"
	"field stage: enum(trial, paid, \"Past Due\")\n"
	"queue sales = \"ana@acme.example\"\n"
	"queue review = manual \"revops@acme.example\"\n"
	"queue inbound = round_robin(\"sdr1@acme.example\", \"sdr2@acme.example\" weight 2)\n"
	"fallback account_owner inbound\n"
	"when intent = support -> drop then page \"support\"\n"
	"when domain owned and account.lifecycle = customer -> account_owner\n"
	"when email personal -> review\n"
	"when country in (US, CA) and employees >= 200 -> sales then confirm\n"
	"when seats > 10 or plan is present -> sales\n"
	"when stage = \"past due\" -> review\n"
	"when domain ends with \".edu\" or source starts with \"ad\"\n"
	"     or message contains \"urgent\" -> review\n"
	"when utm_campaign matches \"^q[1-4]-\" -> review\n"
	"when revenue < 1000000 and account.tier != gold -> inbound\n"
	"otherwise -> inbound\n";

static struct refdata rd;
static struct ruleset *rs;

/* A one-account index: acme.example. */
static bool find_account(void *ctx, const char *domain, struct account *out)
{
	(void)ctx;
	if (strcmp(domain, "acme.example") != 0)
		return false;
	*out = (struct account){ .id = "A-1", .owner = " Ana@Acme.example ",
	                         .lifecycle = "Customer", .tier = "\tGold " };
	return true;
}

static const struct account_lookup accounts = { find_account, NULL };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	(void)argc;
	(void)argv;
	if (refdata_load(&rd, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_lead: %s\n", err);
		exit(2);
	}
	struct lead_env env = refdata_env(&rd);
	struct diags d;
	diags_init(&d);
	rs = ruleset_load_mem("fuzz_lead.routes", program_text, sizeof program_text - 1, &env,
	                      true, &d, NULL);
	if (!rs) {
		fprintf(stderr, "fuzz_lead: the fixed program does not load:\n");
		diags_print(&d, DIAG_TEXT, stderr, false);
		exit(2);
	}
	diags_free(&d);
	return 0;
}

/* ---- checks on normalized text ------------------------------------------ */

/* What norm_text promises of its result. */
static void check_normal_text(const char *t, const char *what)
{
	size_t n = strlen(t);
	FUZZ_CHECK(n == 0 || (t[0] != ' ' && t[n - 1] != ' '),
	           "%s: space at an end: \"%s\"", what, t);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		FUZZ_CHECK(c >= 0x20 && c != 0x7f, "%s: control byte 0x%02x in \"%s\"", what, c, t);
		FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), "%s: capital in \"%s\"", what, t);
		FUZZ_CHECK(!(c == ' ' && t[i + 1] == ' '), "%s: two spaces in \"%s\"", what, t);
	}
	char *again = norm_text(t);
	FUZZ_CHECK(strcmp(again, t) == 0, "%s: not idempotent: \"%s\" -> \"%s\"", what, t, again);
	free(again);
}

static void check_facts(const struct program *p, const struct lead_facts *lf)
{
	FUZZ_CHECK(lf->facts.n == p->n_fields, "facts for %zu fields, program has %zu",
	           lf->facts.n, p->n_fields);
	for (size_t i = 0; i < lf->facts.n; i++) {
		const struct fact *f = &lf->facts.v[i];
		const struct field *fd = &p->fields[i];
		if (!f->present) {
			FUZZ_CHECK(!f->text, "%s: missing but has text \"%s\"", fd->name, f->text);
			continue;
		}
		FUZZ_CHECK(f->text && f->text[0], "%s: present without text", fd->name);
		size_t limit = i == F_MESSAGE ? LEAD_MAX_MESSAGE : LEAD_MAX_VALUE;
		FUZZ_CHECK(strlen(f->text) <= limit, "%s: %zu bytes", fd->name, strlen(f->text));
		switch (fd->type) {
		case FT_NUMBER:
			FUZZ_CHECK(isfinite(f->num), "%s: %g", fd->name, f->num);
			break;
		case FT_ENUM: {
			bool found = false;
			for (size_t k = 0; k < fd->n_enum && !found; k++)
				found = strcmp(f->text, fd->enum_values[k]) == 0;
			FUZZ_CHECK(found, "%s: \"%s\" is not declared", fd->name, f->text);
			check_normal_text(f->text, fd->name);
			break;
		}
		case FT_COUNTRY:
			FUZZ_CHECK(strlen(f->text) == 2 && isupper((unsigned char)f->text[0]) &&
			           isupper((unsigned char)f->text[1]),
			           "%s: \"%s\" is not alpha-2", fd->name, f->text);
			break;
		case FT_BOOL:
			break;
		case FT_TEXT:
			check_normal_text(f->text, fd->name);
			break;
		}
	}
	if (lf->facts.v[F_EMAIL_PERSONAL].present)
		FUZZ_CHECK(lf->facts.v[F_EMAIL].present, "personal without an email");
}

static void normalize_json(struct json_object *obj, bool strict)
{
	const struct program *p = rs->prog;
	struct lead_env env = refdata_env(&rd);
	env.strict_names = strict;
	env.accounts = strict ? NULL : &accounts;

	struct lead l;
	char err[256] = "";
	lead_init(&l);
	bool ok = lead_from_json(&l, obj, err, sizeof err);
	FUZZ_CHECK(ok || err[0], "lead_from_json failed without a message");
	for (size_t i = 0; i < l.n; i++)
		FUZZ_CHECK(l.kv[i].name && l.kv[i].value, "lead entry %zu incomplete", i);

	struct lead_facts lf;
	struct lead_errors errs = {0};
	bool clean = lead_normalize(p, &l, &env, &lf, &errs);
	FUZZ_CHECK(clean == (errs.n == 0), "lead_normalize returned %d with %zu errors",
	           clean, errs.n);
	for (size_t i = 0; i < errs.n; i++)
		FUZZ_CHECK(errs.v[i].field && errs.v[i].message, "error %zu incomplete", i);
	check_facts(p, &lf);

	uint32_t t = tree_eval(rs->tree, &lf.facts);
	uint32_t o = oracle_eval(p, &lf.facts);
	FUZZ_CHECK(t == o, "tree_eval says rule %u, oracle_eval says rule %u",
	           (unsigned)t, (unsigned)o);

	lead_facts_free(&lf);
	lead_errors_free(&errs);
	lead_free(&l);
}

/* ---- the raw string ----------------------------------------------------- */

static void raw_string(const char *s)
{
	char *t = norm_text(s);
	check_normal_text(t, "norm_text");

	double v = 0;
	if (norm_number(s, &v))
		FUZZ_CHECK(isfinite(v), "norm_number gave %g", v);
	if (norm_number(t, &v))   /* what lead_normalize does */
		FUZZ_CHECK(isfinite(v), "norm_number gave %g", v);
	free(t);

	char up[16];
	norm_upper(up, s, sizeof up);
	FUZZ_CHECK(strlen(up) < sizeof up, "norm_upper overran");
	for (size_t i = 0; up[i]; i++)
		FUZZ_CHECK(!(up[i] >= 'a' && up[i] <= 'z'), "norm_upper left \"%s\"", up);

	char *reg = lead_registrable_domain(rd.psl, s);
	if (reg) {
		FUZZ_CHECK(reg[0] && strlen(reg) < 254, "registrable domain \"%s\"", reg);
		for (size_t i = 0; reg[i]; i++)
			FUZZ_CHECK(!(reg[i] >= 'A' && reg[i] <= 'Z'), "capital in \"%s\"", reg);
		free(reg);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INT_MAX)
		return 0;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (obj) {
		normalize_json(obj, false);
		normalize_json(obj, true);
		json_object_put(obj);
	}
	json_tokener_free(tok);

	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	raw_string(s);
	free(s);
	return 0;
}
