// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Where an export's readings go: one sink per output format. Each writes the file it is given (the
// exporter's temporary file) and fails by throwing StoreError naming it and the operating system's reason.
// Plain objects of the exporting thread.

#include "core/store/capture.hpp"
#include "core/store/reader.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace fleetscope::store {

/// A ReadingVisitor that writes a file; close() finishes it (the file is complete only if close returns).
class ExportSink : public ReadingVisitor {
public:
    virtual void close() = 0;
};

/// The CSV or JSON Lines sink (see export_data for the formats).
std::unique_ptr<ExportSink> make_text_sink(ExportFormat format, const std::string& path);

} // namespace fleetscope::store
