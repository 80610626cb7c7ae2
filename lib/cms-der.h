/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The DER framing of a bundle signature, walked without copying it: a ContentInfo holding a
 * SignedData whose encapContentInfo carries id-data content attached as one primitive OCTET
 * STRING, all in definite, minimal-length DER.  cms.c verifies the signature over the content
 * where it lies in the caller's buffer and gives OpenSSL only the rest (certificates, signer
 * information: small), so a large signature is held in memory once, not three or four times. */
typedef struct CmsDerLayout {
        size_t head_offset, head_size;       /* SignedData version and digestAlgorithms */
        size_t content_offset, content_size; /* the value of the eContent OCTET STRING */
        size_t tail_offset, tail_size;       /* SignedData after encapContentInfo: certificates,
                                              * crls, signerInfos (OpenSSL checks them) */
} CmsDerLayout;

/* Fills *ret for 'der' (exactly 'size' bytes).  Errors are ERROR_SIGNATURE_INVALID with the
 * reasons cms_verify() has always used ("not a DER-encoded CMS structure", "CMS is not
 * SignedData", "unexpected CMS content type", "content is detached", "trailing bytes after the
 * CMS structure"). */
int cms_der_layout(const uint8_t *der, size_t size, CmsDerLayout *ret, UError *err);

/* The same ContentInfo with the eContent left out (a detached SignedData), in a new malloc()
 * buffer: head, encapContentInfo { id-data }, tail.  -ENOMEM is the only error. */
int cms_der_detached(const uint8_t *der, const CmsDerLayout *l, uint8_t **ret, size_t *ret_size);
