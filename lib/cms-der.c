/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cms-der.h"
#include "macro.h"

/* The two object identifiers, as whole DER TLVs. */
static const uint8_t oid_signed_data[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };
static const uint8_t oid_data[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };

enum {
        TAG_INTEGER = 0x02,
        TAG_OCTET_STRING = 0x04, /* primitive; 0x24 (constructed, BER) is refused */
        TAG_OID = 0x06,
        TAG_SEQUENCE = 0x30,
        TAG_SET = 0x31,
        TAG_EXPLICIT_0 = 0xa0,   /* [0] EXPLICIT */
};

static int invalid(UError *err, const char *reason) {
        return uerror_set(err, ERROR_SIGNATURE_INVALID, -EBADMSG, "Bundle signature invalid: %s", reason);
}

/* One TLV header at *pos, below 'end': the expected one-byte tag and a definite length in its
 * shortest form whose value fits before 'end'.  Moves *pos onto the value. */
static bool header(const uint8_t *der, size_t end, size_t *pos, uint8_t tag, size_t *ret_len) {
        size_t p = *pos, len, n;

        if (p >= end || end - p < 2 || der[p] != tag)
                return false;
        p++;
        len = der[p++];
        if (len & 0x80) {
                /* 0x80 alone is BER's indefinite length.  Four length bytes are plenty: the
                 * signature is a few MiB at most. */
                n = len & 0x7f;
                if (n == 0 || n > 4 || end - p < n || der[p] == 0)
                        return false;
                for (len = 0; n > 0; n--)
                        len = len << 8 | der[p++];
                if (len < 0x80) /* the long form for a short length is BER, not DER */
                        return false;
        }
        if (len > end - p)
                return false;
        *pos = p;
        *ret_len = len;
        return true;
}

/* Moves *pos past one whole TLV with the expected tag. */
static bool skip(const uint8_t *der, size_t end, size_t *pos, uint8_t tag) {
        size_t len;

        if (!header(der, end, pos, tag, &len))
                return false;
        *pos += len;
        return true;
}

static bool is_tlv(const uint8_t *der, size_t start, size_t end, const uint8_t *tlv, size_t size) {
        return end - start == size && memcmp(der + start, tlv, size) == 0;
}

int cms_der_layout(const uint8_t *der, size_t size, CmsDerLayout *ret, UError *err) {
        CmsDerLayout l = {};
        size_t p = 0, len, end, eci_end, start;

        /* ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY } */
        if (!header(der, size, &p, TAG_SEQUENCE, &len))
                return invalid(err, "not a DER-encoded CMS structure");
        end = p + len; /* trailing bytes are reported once the inside parsed */
        start = p;
        if (!skip(der, end, &p, TAG_OID))
                return invalid(err, "not a DER-encoded CMS structure");
        if (!is_tlv(der, start, p, oid_signed_data, sizeof(oid_signed_data)))
                return invalid(err, "CMS is not SignedData");
        if (!header(der, end, &p, TAG_EXPLICIT_0, &len) || p + len != end)
                return invalid(err, "not a DER-encoded CMS structure");

        /* SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo,
         *                           certificates [0] OPTIONAL, crls [1] OPTIONAL, signerInfos SET } */
        if (!header(der, end, &p, TAG_SEQUENCE, &len) || p + len != end)
                return invalid(err, "not a DER-encoded CMS structure");
        l.head_offset = p;
        if (!skip(der, end, &p, TAG_INTEGER) || !skip(der, end, &p, TAG_SET))
                return invalid(err, "not a DER-encoded CMS structure");
        l.head_size = p - l.head_offset;

        /* EncapsulatedContentInfo ::= SEQUENCE { eContentType OID, eContent [0] EXPLICIT OCTET
         * STRING OPTIONAL } */
        if (!header(der, end, &p, TAG_SEQUENCE, &len))
                return invalid(err, "not a DER-encoded CMS structure");
        eci_end = p + len;
        start = p;
        if (!skip(der, eci_end, &p, TAG_OID))
                return invalid(err, "not a DER-encoded CMS structure");
        if (!is_tlv(der, start, p, oid_data, sizeof(oid_data)))
                return invalid(err, "unexpected CMS content type");
        if (p == eci_end)
                return invalid(err, "content is detached");
        if (!header(der, eci_end, &p, TAG_EXPLICIT_0, &len) || p + len != eci_end ||
            !header(der, eci_end, &p, TAG_OCTET_STRING, &len) || p + len != eci_end)
                return invalid(err, "not a DER-encoded CMS structure");
        l.content_offset = p;
        l.content_size = len;
        l.tail_offset = eci_end;
        l.tail_size = end - eci_end;

        /* Bytes after the structure would be unsigned. */
        if (end != size)
                return invalid(err, "trailing bytes after the CMS structure");
        *ret = l;
        return 0;
}

static size_t header_size(size_t len) {
        return len < 0x80 ? 2 : len <= 0xff ? 3 : len <= 0xffff ? 4 : len <= 0xffffff ? 5 : 6;
}

static size_t put_header(uint8_t *b, uint8_t tag, size_t len) {
        size_t n = header_size(len);

        b[0] = tag;
        if (n == 2)
                b[1] = (uint8_t) len;
        else {
                b[1] = (uint8_t) (0x80 | (n - 2));
                for (size_t i = n - 1; i >= 2; i--, len >>= 8)
                        b[i] = (uint8_t) len;
        }
        return n;
}

int cms_der_detached(const uint8_t *der, const CmsDerLayout *l, uint8_t **ret, size_t *ret_size) {
        /* EncapsulatedContentInfo ::= SEQUENCE { id-data }: no eContent. */
        static const uint8_t eci[] = { TAG_SEQUENCE, sizeof(oid_data), 0x06, 0x09, 0x2a, 0x86, 0x48,
                                       0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };
        size_t sd = l->head_size + sizeof(eci) + l->tail_size;
        size_t explicit0 = header_size(sd) + sd;
        size_t ci = sizeof(oid_signed_data) + header_size(explicit0) + explicit0;
        size_t total = header_size(ci) + ci, p = 0;
        uint8_t *b;

        b = malloc(total);
        if (!b)
                return -ENOMEM;
        p += put_header(b + p, TAG_SEQUENCE, ci);
        memcpy(b + p, oid_signed_data, sizeof(oid_signed_data));
        p += sizeof(oid_signed_data);
        p += put_header(b + p, TAG_EXPLICIT_0, explicit0);
        p += put_header(b + p, TAG_SEQUENCE, sd);
        memcpy(b + p, der + l->head_offset, l->head_size);
        p += l->head_size;
        memcpy(b + p, eci, sizeof(eci));
        p += sizeof(eci);
        memcpy(b + p, der + l->tail_offset, l->tail_size);
        p += l->tail_size;

        *ret = b;
        *ret_size = p;
        return 0;
}
