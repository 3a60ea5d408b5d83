// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A throwaway certificate for the TLS tests, made with OpenSSL at run time: no key material in the
// repository.

#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string>

namespace fleetscope::testing {

/// A self-signed P-256 certificate for CN=localhost, valid for an hour, and its key, written as PEM files;
/// `key_path` gets a key other than the certificate's when `mismatched_key` is set.
inline bool write_self_signed(const std::string& cert_path, const std::string& key_path,
                              bool mismatched_key = false)
{
    using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
    KeyPtr key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    KeyPtr other(mismatched_key ? EVP_EC_gen("P-256") : nullptr, &EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
    if (!key || !cert || (mismatched_key && !other))
        return false;
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"),
                               -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
        return false;
    std::unique_ptr<BIO, decltype(&BIO_free)> cert_out(BIO_new_file(cert_path.c_str(), "w"), &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> key_out(BIO_new_file(key_path.c_str(), "w"), &BIO_free);
    return cert_out && key_out && PEM_write_bio_X509(cert_out.get(), cert.get()) == 1 &&
           PEM_write_bio_PrivateKey(key_out.get(), mismatched_key ? other.get() : key.get(), nullptr, nullptr,
                                    0, nullptr, nullptr) == 1;
}

} // namespace fleetscope::testing
