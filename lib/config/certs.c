/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HTTPS listener certificates: check with OpenSSL that each certificate file
 * holds a PEM certificate, each key file an unencrypted PEM private key, and
 * that the two match, and warn when the certificate is expired or not yet
 * valid. Many listeners often share one pair, so pairs found good are
 * remembered for the rest of the load and not read again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config_priv.h"

/* Pairs remembered; beyond that, pairs are simply checked again. */
#define CERT_CACHE_MAX 64

struct cert_pair {
	char *cert_path;
	char *key_path;
	int validity; /* 0 valid, -1 expired, 1 not yet valid (warned again each use) */
	char when[40];
};

struct gax_cert_cache {
	struct cert_pair v[CERT_CACHE_MAX];
	unsigned int n;
};

void
gax_cert_cache_free(struct gax_cert_cache *cache)
{
	unsigned int i;

	if (cache == NULL)
		return;
	for (i = 0; i < cache->n; i++) {
		free(cache->v[i].cert_path);
		free(cache->v[i].key_path);
	}
	free(cache);
}

static int __attribute__((format(printf, 4, 5)))
diag(struct gax_diags *d, enum gax_diag_severity sev, const char *path, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = gax_diags_vadd(d, sev, path, 0, 0, fmt, ap);
	va_end(ap);
	return ret;
}

/* The reason of the last OpenSSL error, for a message; clears the queue. */
static const char *
ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : "unknown error";
}

/*
 * Open a regular file for reading. A folder, a FIFO or a device is refused:
 * reading one could block or never end.
 * @return the stream, or NULL with the reason in @p err
 */
static FILE *
open_regular(const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s", S_ISDIR(st.st_mode) ? "it is a folder" :
				"it is not a regular file");
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
	}
	return f;
}

/* Passphrase callback: never prompt; note that the key is encrypted. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

static void
format_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "an unreadable date");
}

static int
warn_validity(struct gax_diags *d, const char *jp_cert, const char *cert_path, int validity,
		const char *when)
{
	char q[GAX_QUOTE_PATH_BUF];

	if (validity < 0)
		return diag(d, GAX_DIAG_WARNING, jp_cert, "certificate %s expired on %s",
				gax_quote_path(cert_path, q), when);
	if (validity > 0)
		return diag(d, GAX_DIAG_WARNING, jp_cert, "certificate %s is not valid before %s",
				gax_quote_path(cert_path, q), when);
	return 0;
}

int
gax_cert_check(struct gax_cert_cache **cache, const char *cert_path, const char *key_path,
		const char *jp_cert, const char *jp_key, struct gax_diags *d)
{
	char q[GAX_QUOTE_PATH_BUF], q2[GAX_QUOTE_PATH_BUF], err[128];
	X509 *x = NULL;
	EVP_PKEY *pkey = NULL;
	bool encrypted = false;
	struct cert_pair *slot;
	int validity = 0;
	char when[40] = "";
	FILE *f;
	int ret = 0;
	unsigned int i;

	if (*cache != NULL) {
		for (i = 0; i < (*cache)->n; i++) {
			slot = &(*cache)->v[i];
			if (strcmp(slot->cert_path, cert_path) == 0 &&
					strcmp(slot->key_path, key_path) == 0)
				return warn_validity(d, jp_cert, cert_path, slot->validity,
						slot->when);
		}
	}

	ERR_clear_error();
	f = open_regular(cert_path, err, sizeof(err));
	if (f == NULL) {
		ret = diag(d, GAX_DIAG_ERROR, jp_cert, "cannot open certificate %s: %s",
				gax_quote_path(cert_path, q), err);
	} else {
		x = PEM_read_X509(f, NULL, no_passphrase, &encrypted);
		fclose(f);
		if (x == NULL)
			ret = diag(d, GAX_DIAG_ERROR, jp_cert, "%s holds no PEM certificate (%s)",
					gax_quote_path(cert_path, q), ssl_reason());
	}

	f = open_regular(key_path, err, sizeof(err));
	if (f == NULL) {
		if (diag(d, GAX_DIAG_ERROR, jp_key, "cannot open private key %s: %s",
				gax_quote_path(key_path, q), err) != 0)
			ret = -ENOMEM;
	} else {
		encrypted = false;
		pkey = PEM_read_PrivateKey(f, NULL, no_passphrase, &encrypted);
		fclose(f);
		if (pkey == NULL && encrypted) {
			ERR_clear_error();
			if (diag(d, GAX_DIAG_ERROR, jp_key, "private key %s is encrypted; gax "
					"needs an unencrypted key", gax_quote_path(key_path, q)) != 0)
				ret = -ENOMEM;
		} else if (pkey == NULL) {
			if (diag(d, GAX_DIAG_ERROR, jp_key, "%s holds no PEM private key (%s)",
					gax_quote_path(key_path, q), ssl_reason()) != 0)
				ret = -ENOMEM;
		}
	}

	if (x != NULL && pkey != NULL) {
		if (X509_check_private_key(x, pkey) != 1) {
			ERR_clear_error();
			if (diag(d, GAX_DIAG_ERROR, jp_key, "private key %s does not match "
					"certificate %s", gax_quote_path(key_path, q),
					gax_quote_path(cert_path, q2)) != 0)
				ret = -ENOMEM;
			goto out;
		}
		if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
			validity = -1;
			format_time(X509_get0_notAfter(x), when, sizeof(when));
		} else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
			validity = 1;
			format_time(X509_get0_notBefore(x), when, sizeof(when));
		}
		if (warn_validity(d, jp_cert, cert_path, validity, when) != 0)
			ret = -ENOMEM;
		/* A good pair: remember it. */
		if (*cache == NULL)
			*cache = calloc(1, sizeof(**cache));
		if (*cache != NULL && (*cache)->n < CERT_CACHE_MAX) {
			slot = &(*cache)->v[(*cache)->n];
			slot->cert_path = strdup(cert_path);
			slot->key_path = strdup(key_path);
			if (slot->cert_path != NULL && slot->key_path != NULL) {
				slot->validity = validity;
				memcpy(slot->when, when, sizeof(slot->when));
				(*cache)->n++;
			} else {
				free(slot->cert_path);
				free(slot->key_path);
			}
		}
	}
out:
	X509_free(x);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ret;
}
