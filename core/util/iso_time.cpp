// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/util/iso_time.hpp"

#include <charconv>
#include <chrono>

namespace fleetscope::util {

namespace {

void append_2(std::string& out, unsigned v)
{
    out += static_cast<char>('0' + v / 10);
    out += static_cast<char>('0' + v % 10);
}

} // namespace

void append_iso_time(std::string& out, std::int64_t ms)
{
    using namespace std::chrono;
    const sys_time<milliseconds> tp{milliseconds(ms)};
    const auto day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss hms{tp - day};
    const int year = static_cast<int>(ymd.year());
    if (year >= 0 && year < 1000) // ISO-8601 years have four digits
        out.append(year < 10 ? 3 : year < 100 ? 2 : 1, '0');
    char digits[8];
    const auto r = std::to_chars(digits, digits + sizeof digits, year);
    out.append(digits, r.ptr);
    out += '-';
    append_2(out, static_cast<unsigned>(ymd.month()));
    out += '-';
    append_2(out, static_cast<unsigned>(ymd.day()));
    out += 'T';
    append_2(out, static_cast<unsigned>(hms.hours().count()));
    out += ':';
    append_2(out, static_cast<unsigned>(hms.minutes().count()));
    out += ':';
    append_2(out, static_cast<unsigned>(hms.seconds().count()));
    out += '.';
    const auto milli = static_cast<unsigned>(hms.subseconds().count());
    out += static_cast<char>('0' + milli / 100);
    append_2(out, milli % 100);
    out += 'Z';
}

std::string format_iso_time(std::int64_t ms)
{
    std::string out;
    out.reserve(24);
    append_iso_time(out, ms);
    return out;
}

} // namespace fleetscope::util
