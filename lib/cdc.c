/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "cdc.h"

/* The gear table: 256 pseudo-random 64-bit values, generated once by splitmix64 seeded with
 * 0x5550443143444331 ("UPD1CDC1") and written out here so that no build, compiler or
 * architecture can disagree about it.  It is part of the bundle format (see cdc.h). */
static const uint64_t gear[256] = {
        UINT64_C(0xedff2fd974fba246), UINT64_C(0xc9ab2db29887ab46), UINT64_C(0xe3ec9033d8783f07),
        UINT64_C(0x3f8b436be816b9ac), UINT64_C(0x70c5d8d9fae29ff5), UINT64_C(0xa2675714afaa8eff),
        UINT64_C(0xbcf949d5154f914b), UINT64_C(0xda2057a364f7e9e7), UINT64_C(0x7eb7d2c1a2a8ad35),
        UINT64_C(0x1046c8e2aa413350), UINT64_C(0xe955885c9a5e84db), UINT64_C(0xa9e255530403fb77),
        UINT64_C(0x3474f65b895c1827), UINT64_C(0xa6bce3ec11ca47e3), UINT64_C(0x733c8d346a406011),
        UINT64_C(0x51ce6ec126b21201), UINT64_C(0x0c90f98521fef63c), UINT64_C(0x19610f5e6213340c),
        UINT64_C(0x8c680c51340f5b6d), UINT64_C(0x6dbaac6b4134f1a3), UINT64_C(0xf9b53f581017e8b1),
        UINT64_C(0xda9280da1cb2edc2), UINT64_C(0x802d04537594ee6e), UINT64_C(0x7ba418136519d87c),
        UINT64_C(0x190672071649d649), UINT64_C(0xd6021a8778fb2013), UINT64_C(0xaf33ae5b90b8cc42),
        UINT64_C(0x0f2735bb85e3400b), UINT64_C(0xd6c0c00b7c260782), UINT64_C(0x5fde670738b8064f),
        UINT64_C(0x2ebeaa1535215f91), UINT64_C(0xa9b8956b2aa55500), UINT64_C(0xee3bee91c110d04e),
        UINT64_C(0x42d92bc6da21405a), UINT64_C(0x5f356de3b1807bce), UINT64_C(0xbd176c658b9e9f48),
        UINT64_C(0x46efca27800a27fe), UINT64_C(0x638190acdc8194fe), UINT64_C(0xd7f4a0551f59031a),
        UINT64_C(0x81c42c455a0f38d3), UINT64_C(0x5fcdc23b9b4a2522), UINT64_C(0x0a547d2c7ceb983a),
        UINT64_C(0xb744edb8460a8bd6), UINT64_C(0xba4efb36e9f9244d), UINT64_C(0x9eba28929bfe3562),
        UINT64_C(0x81914b0319907b62), UINT64_C(0x8aae66a2ddfd7ea4), UINT64_C(0xb0df59ee9f7e8de4),
        UINT64_C(0xe9b6ee78e23b679e), UINT64_C(0x383fa7512f64ce84), UINT64_C(0x4daf8e89de64a54e),
        UINT64_C(0x71b9d4fa1c89283e), UINT64_C(0x692b39e9ef3a18b9), UINT64_C(0x848fbf4158ac2ff9),
        UINT64_C(0x864c57cda4d8d529), UINT64_C(0xfeab524380cd7528), UINT64_C(0x6c2ae67583d903de),
        UINT64_C(0x86b16d0f797f775d), UINT64_C(0x973744b9f1023c5d), UINT64_C(0x5cce296f12149215),
        UINT64_C(0x885eea8f60437a87), UINT64_C(0x9232c938687034c2), UINT64_C(0xa76819861717e824),
        UINT64_C(0x233735ca58fd9ca7), UINT64_C(0x3c8f50b87947a6c4), UINT64_C(0x7d1dfde67c6c3d29),
        UINT64_C(0x72fddbdf42ee9f44), UINT64_C(0xafc8fa1481aa2f9b), UINT64_C(0x1ebace95eac7bbf8),
        UINT64_C(0xbdd2ac35933832ae), UINT64_C(0xf4fb5b349304aa78), UINT64_C(0x4f974ab2f66c745e),
        UINT64_C(0xab716e26c7158aae), UINT64_C(0xf32d252caadadf66), UINT64_C(0x07798de209c2929a),
        UINT64_C(0x892e50e6a3332b9e), UINT64_C(0x0d562888487770b5), UINT64_C(0xfcf11bd59fc24ded),
        UINT64_C(0x2b9e543deeaddd43), UINT64_C(0xa1cd724f998236dd), UINT64_C(0xd4bf0f3ef5a16af7),
        UINT64_C(0xa2b025aa9d79f40f), UINT64_C(0xc09a7cd5b5cd04da), UINT64_C(0xd7fe4780952da0dc),
        UINT64_C(0x43e1246faac31462), UINT64_C(0xc499a817cad3d7d7), UINT64_C(0x238484260ed5c685),
        UINT64_C(0x0ab4707e2b9a0404), UINT64_C(0x7b2a2e4aa43c0351), UINT64_C(0x31c9f09726c0ebc5),
        UINT64_C(0x83e7e138ef4ae68d), UINT64_C(0xa0bbeb3f8e268b10), UINT64_C(0xdd4e1f5a77fb650e),
        UINT64_C(0x9b95ef45cec3dbd8), UINT64_C(0xff7e9c8e2c8ea826), UINT64_C(0x20e443a941ce9fc8),
        UINT64_C(0x907a1ac25a7a924b), UINT64_C(0x3d22734d086700ed), UINT64_C(0x751f5a4d946edc6b),
        UINT64_C(0x7b08b6b0875b3f91), UINT64_C(0x54223b54128075ff), UINT64_C(0x880f57be33c404bb),
        UINT64_C(0x7bcab257631aca38), UINT64_C(0xc91d819853bb6130), UINT64_C(0xf5c86077c8e3bab8),
        UINT64_C(0x4514fb55badcf39e), UINT64_C(0x26b7befa6db7ebb7), UINT64_C(0x6e1234a1ac6bac76),
        UINT64_C(0x2bbb8d2181e4066e), UINT64_C(0x0bba5c4e581ac941), UINT64_C(0xccfafcba78e0b73b),
        UINT64_C(0x510e19ee58d1f9bb), UINT64_C(0x05903013c41bcbea), UINT64_C(0xcd8a7e57daf1505a),
        UINT64_C(0x72b0cb369359026e), UINT64_C(0xc3d2f074cd3904b9), UINT64_C(0xd0582cf845cb2e09),
        UINT64_C(0xc97ee6fa77ad22f7), UINT64_C(0x08979a8a7cecef2d), UINT64_C(0x16472691dab424a9),
        UINT64_C(0x707c0bb04c32b512), UINT64_C(0xb9135fb208e9f1b7), UINT64_C(0x0f2b0957a5096864),
        UINT64_C(0xbfc422671b8dc29c), UINT64_C(0x9fd78d6cf855aafc), UINT64_C(0x5db28b2a83a5ce9c),
        UINT64_C(0x8c80e40fcfa3ef7d), UINT64_C(0x088e9dcaa9954d78), UINT64_C(0x46fb753c944d5b15),
        UINT64_C(0x4bd4876927ae1df0), UINT64_C(0x6a96be2e7a697c64), UINT64_C(0x7fba95301974a7dc),
        UINT64_C(0xb977d2de8fe07c96), UINT64_C(0x5dc5cec6684d39e9), UINT64_C(0x1206b8926e96d2f1),
        UINT64_C(0x6f71ec5f5aaa9c40), UINT64_C(0x49440485e5e69c7d), UINT64_C(0xdd56b1e3f72b0ad6),
        UINT64_C(0x1bb97d76eb635ab1), UINT64_C(0xc47445099b62730f), UINT64_C(0x9a08fe62c3f922f6),
        UINT64_C(0x98affa5e78cb3d45), UINT64_C(0x630d44ec26815962), UINT64_C(0xe7c7c3db358956d7),
        UINT64_C(0x39c789a28fcd4b03), UINT64_C(0xd2d01d06d7dfb026), UINT64_C(0xf2ec53e57d161f52),
        UINT64_C(0x5e5209f54a2d0e38), UINT64_C(0xe8f08a49abf56d1b), UINT64_C(0x8872faa203a2f66c),
        UINT64_C(0x5e4e673d5f974378), UINT64_C(0xb05e7c713593a0b8), UINT64_C(0x103a1b54e64d8d0f),
        UINT64_C(0x10ef313c78f32db5), UINT64_C(0x7e0f47c0a3057b2d), UINT64_C(0x7fb4aa6fd43a15e5),
        UINT64_C(0x513f0e787c88867c), UINT64_C(0x454b7b8cbb94a82e), UINT64_C(0x97c53a02d3732184),
        UINT64_C(0x30cd28f91d5db998), UINT64_C(0x355c42105ba73bd4), UINT64_C(0x45b4e19163ae09cb),
        UINT64_C(0x9b5ae67a6e867b6f), UINT64_C(0x76b803bd7e6cddcd), UINT64_C(0x2bf8dbd2a1a1fef0),
        UINT64_C(0x9a2172f6b642a074), UINT64_C(0x19aea33cf95a2434), UINT64_C(0x7bd7e2bc1372161a),
        UINT64_C(0x0675898c3b53348f), UINT64_C(0xcf5f91c10bf2d9e9), UINT64_C(0xc4ca7dfb16cfd547),
        UINT64_C(0xff4aeda9cd3e93fa), UINT64_C(0x9a11507432e2e860), UINT64_C(0x9cfb37cb060b4bd9),
        UINT64_C(0x9e5a3ab4beba5f5e), UINT64_C(0x169d6b52ce09600c), UINT64_C(0xcbc1056c079541af),
        UINT64_C(0x773959ecca56cc1e), UINT64_C(0x22a53bf8a9bb6e4c), UINT64_C(0xed10e65c9282e108),
        UINT64_C(0x1d81b7ef3f685b20), UINT64_C(0x6a062b508a8e60a9), UINT64_C(0xf9f734edd30f702f),
        UINT64_C(0xc71dad2cd37dd6c4), UINT64_C(0xf804ec0df29e4cb1), UINT64_C(0x9b18cb954d6dc4a4),
        UINT64_C(0x278b9a38cae25b69), UINT64_C(0x4fbcd77513fd9d8b), UINT64_C(0xdd45104a7c168e7e),
        UINT64_C(0xd793094c41dabc41), UINT64_C(0x58043e4a6dadcea0), UINT64_C(0x68e6dedb4d1a473e),
        UINT64_C(0xafd00b40788742a2), UINT64_C(0x4e6663094bf91e5a), UINT64_C(0xf7e5f0341427b39f),
        UINT64_C(0x36013905b7a3ea6d), UINT64_C(0x849ad7a89b7573f7), UINT64_C(0x0eb4299ec56aab81),
        UINT64_C(0xb78dd1e7922d6ee8), UINT64_C(0x1899c97000765087), UINT64_C(0x54f80d901cf00387),
        UINT64_C(0x382c641ce05aa721), UINT64_C(0xcf3db77e990606b5), UINT64_C(0xced8109e0eeef7a4),
        UINT64_C(0xfd92fe20ea2a6898), UINT64_C(0xa4247865c02df1b5), UINT64_C(0x2c97475fbca03e0c),
        UINT64_C(0x87eee3b74659933d), UINT64_C(0x1472987592356ffb), UINT64_C(0x98d9eed84a87b710),
        UINT64_C(0xab1c20c822b083bf), UINT64_C(0xbc872c56ac1a1eea), UINT64_C(0x812388a2799ff388),
        UINT64_C(0xc2a25e896fe57aeb), UINT64_C(0xe8d2e3ae74e79180), UINT64_C(0x2daff80f1ed30f84),
        UINT64_C(0x7dbc8732f3d6d340), UINT64_C(0xfcfe76108440291a), UINT64_C(0x2447972df2346c39),
        UINT64_C(0xddd338b69cf9de0c), UINT64_C(0x0201bfdea80710b9), UINT64_C(0x9fbfb77be2df6242),
        UINT64_C(0x11eb5de342e311e4), UINT64_C(0xa1560263f532a594), UINT64_C(0x4fc09eff00d2fcdc),
        UINT64_C(0x53ceebd6caeb64a3), UINT64_C(0x193b0a338f6b608e), UINT64_C(0x5104e76f9030a6e0),
        UINT64_C(0xa99fd90077995aab), UINT64_C(0x49e483d53a75657c), UINT64_C(0x8b828f289173cc55),
        UINT64_C(0x00e8f66955493ab1), UINT64_C(0x58f2ee0d91af8530), UINT64_C(0xc82a250147371e03),
        UINT64_C(0xc829b2dd3376148c), UINT64_C(0x9dd3aa81d58eaa9c), UINT64_C(0x1aeceece208dec88),
        UINT64_C(0x0763183b21ae46e8), UINT64_C(0xdcebd1f4add703f5), UINT64_C(0xc9b59ab2eeeda1f3),
        UINT64_C(0x93d0913870be93a6), UINT64_C(0xa87ef27781e95bac), UINT64_C(0x74fe1ae249d5bf1b),
        UINT64_C(0xb8b5ec0533e92138), UINT64_C(0x82f277f721e5dcec), UINT64_C(0xe989d18a0b7a05bb),
        UINT64_C(0x74dda5eb080ee2da), UINT64_C(0x0379f6594239f2e3), UINT64_C(0x1c9e77a49c74ae94),
        UINT64_C(0xd6bd209b4dae3cda), UINT64_C(0x9f0a4675cb059793), UINT64_C(0x073ee58ae3b12a18),
        UINT64_C(0xf20567a9fea48dbf), UINT64_C(0x799d5df9d5313436), UINT64_C(0xcb8f5bea5df39e9d),
        UINT64_C(0x277c39e7a59f5c57),
};

/* The hash is shifted left once per byte, so bit k depends on the last k + 1 bytes: masks made
 * of the top bits look at a window of 64 - bits .. 64 bytes, as FastCDC's spread masks do. */
static uint64_t top_bits(unsigned n) {
        return n == 0 ? 0 : ~UINT64_C(0) << (64 - n);
}

static unsigned log2_u32(uint32_t v) {
        unsigned n = 0;

        while (v >>= 1)
                n++;
        return n;
}

int cdc_init(Cdc *c, uint32_t min, uint32_t avg, uint32_t max) {
        unsigned bits;

        if (avg == 0 || (avg & (avg - 1)) != 0 || min < CDC_MIN_LOWEST || min > avg / 2 ||
            max < (uint64_t) avg * 2 || max > CDC_MAX_HIGHEST)
                return -EINVAL;
        bits = log2_u32(avg);
        /* FastCDC "normalization level 2": two bits harder before the average, two easier
         * after, which pulls the sizes together around avg without moving it. */
        *c = (Cdc) {
                .mask_small = top_bits(bits + 2),
                .mask_large = top_bits(bits - 2),
                .min = min,
                .avg = avg,
                .max = max,
        };
        return 0;
}

void cdc_reset(Cdc *c) {
        c->hash = 0;
        c->pos = 0;
}

int cdc_feed(Cdc *c, const void *data, size_t size, size_t *ret_consumed) {
        const uint8_t *p = data;
        /* Bytes of a chunk before min - 64 cannot influence a cut (the window is 64 bytes), so
         * they are skipped unhashed: FastCDC's "cut-point skipping", about a quarter of the
         * work at the default sizes. */
        uint32_t hash_from = c->min - 64;
        uint64_t h = c->hash;
        uint32_t pos = c->pos;
        size_t i = 0;

        if (pos < hash_from) {
                size_t skip = hash_from - pos;

                if (skip >= size) {
                        c->pos = pos + (uint32_t) size;
                        *ret_consumed = size;
                        return 0;
                }
                i = skip;
                pos = hash_from;
        }
        for (; i < size && pos < c->min; i++, pos++)
                h = (h << 1) + gear[p[i]];
        for (; i < size && pos < c->avg; i++) {
                h = (h << 1) + gear[p[i]];
                pos++;
                if (!(h & c->mask_small))
                        goto cut;
        }
        for (; i < size; i++) {
                h = (h << 1) + gear[p[i]];
                pos++;
                if (!(h & c->mask_large) || pos >= c->max)
                        goto cut;
        }
        c->hash = h;
        c->pos = pos;
        *ret_consumed = size;
        return 0;

cut:
        cdc_reset(c);
        *ret_consumed = i + 1;
        return 1;
}
