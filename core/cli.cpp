// SPDX-License-Identifier: GPL-3.0-or-later
#include "core/cli.hpp"

#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/value_semantic.hpp>

#include <fstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace fleetscope {

namespace po = boost::program_options;

void add_setting_options(po::options_description& desc, Settings& s)
{
    for_each_setting(s, [&desc](const SettingInfo& info, auto& field) {
        using T = std::remove_cvref_t<decltype(field)>;
        std::string help(info.help);
        if (!info.unit.empty() && info.unit != "count")
            help += " [" + std::string(info.unit) + "]";
        const std::string name(info.name);
        if constexpr (std::is_same_v<T, Millis>) {
            desc.add_options()(name.c_str(),
                               po::value<long long>()
                                   ->default_value(field.count())
                                   ->value_name("MS")
                                   ->notifier([&field](long long v) { field = Millis(v); }),
                               help.c_str());
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (info.repeatable) {
                // Given several times on the command line (or in --config), kept as one comma-separated list.
                desc.add_options()(
                    name.c_str(),
                    po::value<std::vector<std::string>>()->composing()->value_name("TEXT")->notifier(
                        [&field](const std::vector<std::string>& v) {
                            field.clear();
                            for (const auto& item : v)
                                field += (field.empty() ? "" : ",") + item;
                        }),
                    help.c_str());
                return;
            }
            desc.add_options()(name.c_str(),
                               po::value<std::string>(&field)->default_value(field)->value_name("TEXT"),
                               help.c_str());
        } else {
            desc.add_options()(name.c_str(), po::value<T>(&field)->default_value(field)->value_name("N"),
                               help.c_str());
        }
    });
}

void store_config_file(const std::string& path, const po::options_description& desc, po::variables_map& vm)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("--config " + path + ": cannot be opened");
    try {
        po::store(po::parse_config_file(in, desc), vm);
    } catch (const po::unknown_option& e) {
        throw std::runtime_error("--config " + path + ": " + e.what() +
                                 "; expected 'key = value' lines whose keys are the flags without '--', as "
                                 "--help lists them");
    } catch (const po::error& e) {
        throw std::runtime_error("--config " + path + ": " + e.what());
    }
}

std::string settings_markdown(const Settings& defaults)
{
    Settings copy = defaults;
    std::string out = "| flag | default | unit | meaning |\n|---|---|---|---|\n";
    for_each_setting(copy, [&out](const SettingInfo& info, auto& field) {
        using T = std::remove_cvref_t<decltype(field)>;
        std::string value;
        if constexpr (std::is_same_v<T, Millis>)
            value = std::to_string(field.count());
        else if constexpr (std::is_same_v<T, std::string>)
            value = field.empty() ? "(empty)" : field;
        else
            value = std::to_string(field);
        out += "| `--" + std::string(info.name) + "` | " + value + " | " + std::string(info.unit) + " | " +
               std::string(info.help) + " |\n";
    });
    return out;
}

} // namespace fleetscope
