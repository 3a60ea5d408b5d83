// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string_view>

namespace fleetscope::http {

/// The OpenAPI 3.1 description of the HTTP API, served at GET /v1/openapi.json: the bytes of
/// docs/openapi.json, embedded at build time (cmake/embed.cmake), so the repository holds one copy. Static
/// storage: safe from any thread.
std::string_view openapi_document();

} // namespace fleetscope::http
