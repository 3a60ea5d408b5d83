// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QByteArray>
#include <QByteArrayView>

#include <functional>

namespace fleetscope::ui {

/// Splits a text/event-stream body into events as its bytes arrive, in whatever pieces (the WHATWG HTML
/// "Server-sent events" interpretation: `event:` and `data:` fields, data lines joined by LF, an event
/// dispatched at a blank line, comments and other fields ignored, CR, LF or CRLF line ends). Qt has no
/// parser of its own for this format. Owned by one thread (the remote feed's network thread).
class SseParser {
public:
    using Dispatch = std::function<void(const QByteArray& event, const QByteArray& data)>;

    explicit SseParser(Dispatch dispatch)
        : dispatch_(std::move(dispatch))
    {}

    /// Feeds the next bytes; dispatches every event they complete.
    void feed(QByteArrayView bytes);
    /// Forgets a partial event and line (a new connection begins).
    void reset();

private:
    void line(QByteArrayView text);

    Dispatch dispatch_;
    QByteArray pending_; // the current line, not ended yet
    QByteArray event_;
    QByteArray data_;
    bool has_data_ = false;
    bool after_cr_ = false; // the last byte was CR, so an LF next ends nothing new
};

} // namespace fleetscope::ui
