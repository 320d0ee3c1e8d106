// OpenSSL's libcrypto, as IKECrypto and CertificateProxy see it.
#pragma once
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/dh.h>
#include <openssl/ec.h>

// Macros Swift cannot import as values.
static inline const char *ike_ossl_group_name(void) { return OSSL_PKEY_PARAM_GROUP_NAME; }
static inline const char *ike_ossl_pub_key(void) { return OSSL_PKEY_PARAM_PUB_KEY; }
static inline const char *ike_ossl_encoded_pub_key(void) { return OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY; }
static inline int ike_evp_pkey_public_key(void) { return EVP_PKEY_PUBLIC_KEY; }
static inline int ike_evp_pkey_keypair(void) { return EVP_PKEY_KEYPAIR; }
static inline const char *ike_ossl_priv_key(void) { return OSSL_PKEY_PARAM_PRIV_KEY; }
static inline int ike_evp_ctrl_gcm_set_ivlen(void) { return EVP_CTRL_GCM_SET_IVLEN; }
static inline int ike_evp_ctrl_gcm_get_tag(void) { return EVP_CTRL_GCM_GET_TAG; }
static inline int ike_evp_ctrl_gcm_set_tag(void) { return EVP_CTRL_GCM_SET_TAG; }
static inline const char *ike_ossl_mac_digest(void) { return OSSL_MAC_PARAM_DIGEST; }

// Certificates (CertificateProxy only).
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>
#include <time.h>

/// The i-th subjectAltName of `x`: its GEN_* type and, for a DNS name (2), an email
/// address (1) or an IP address (7), its bytes copied into `out` (at most `capacity`).
/// Returns the length, or -1 past the last name.
static inline int ike_x509_san(X509 *x, int i, int *type, unsigned char *out, int capacity) {
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return -1;
    int length = -1;
    if (i < sk_GENERAL_NAME_num(names)) {
        GENERAL_NAME *n = sk_GENERAL_NAME_value(names, i);
        ASN1_STRING *s = NULL;
        if (n->type == GEN_DNS) s = n->d.dNSName;
        else if (n->type == GEN_EMAIL) s = n->d.rfc822Name;
        else if (n->type == GEN_IPADD) s = n->d.iPAddress;
        *type = n->type;
        length = 0;
        if (s != NULL) {
            length = ASN1_STRING_length(s) < capacity ? ASN1_STRING_length(s) : capacity;
            memcpy(out, ASN1_STRING_get0_data(s), (size_t)length);
        }
    }
    GENERAL_NAMES_free(names);
    return length;
}

/// An ASN.1 time as seconds since 1970 (UTC); 0 when unreadable.
static inline long long ike_asn1_time_unix(const ASN1_TIME *t) {
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return (long long)timegm(&tm);
}

static inline int ike_x509_v_flag_crl_check(void) { return X509_V_FLAG_CRL_CHECK; }
static inline int ike_x509_v_flag_partial_chain(void) { return X509_V_FLAG_PARTIAL_CHAIN; }
static inline int ike_rsa_pkcs1_pss_padding(void) { return RSA_PKCS1_PSS_PADDING; }
