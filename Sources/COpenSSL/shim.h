// OpenSSL's libcrypto, as IKECrypto and CertificateProxy see it.
#pragma once
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/err.h>
