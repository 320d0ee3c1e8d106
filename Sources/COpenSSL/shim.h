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
