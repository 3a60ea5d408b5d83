// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/feed/remote/sse_parser.hpp"

namespace fleetscope::ui {

void SseParser::reset()
{
    pending_.clear();
    event_.clear();
    data_.clear();
    has_data_ = false;
    after_cr_ = false;
}

void SseParser::feed(QByteArrayView bytes)
{
    qsizetype start = 0;
    for (qsizetype i = 0; i < bytes.size(); ++i) {
        const char c = bytes[i];
        if (c != '\r' && c != '\n')
            continue;
        if (c == '\n' && after_cr_ && i == start) {
            // The LF of a CRLF whose CR ended the line already.
            after_cr_ = false;
            start = i + 1;
            continue;
        }
        pending_.append(bytes.sliced(start, i - start));
        line(pending_);
        pending_.clear();
        after_cr_ = c == '\r';
        start = i + 1;
    }
    if (start < bytes.size()) {
        after_cr_ = false;
        pending_.append(bytes.sliced(start));
    }
}

void SseParser::line(QByteArrayView text)
{
    if (text.isEmpty()) {
        if (has_data_)
            dispatch_(event_.isEmpty() ? QByteArrayLiteral("message") : event_, data_);
        event_.clear();
        data_.clear();
        has_data_ = false;
        return;
    }
    if (text.front() == ':')
        return; // a comment
    const qsizetype colon = text.indexOf(':');
    const QByteArrayView field = colon < 0 ? text : text.first(colon);
    QByteArrayView value = colon < 0 ? QByteArrayView() : text.sliced(colon + 1);
    if (value.startsWith(' '))
        value = value.sliced(1);
    if (field == "event") {
        event_ = value.toByteArray();
    } else if (field == "data") {
        if (has_data_)
            data_.append('\n');
        data_.append(value);
        has_data_ = true;
    }
}

} // namespace fleetscope::ui
