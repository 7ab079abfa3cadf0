// minigen report --table: the metrics of a run as step-wise rows, for reading and for teaching.
#include <cmath>
#include <map>
#include <optional>

#include "core/io/input.h"
#include "kernels/base.h"
#include "tools/report.h"

namespace mg::tools {
namespace {

// The losses and D's outputs, in the order the report plots them.
std::vector<std::string> default_columns(const MetricsLog& log) {
    std::vector<std::string> names, out;
    for (const MetricSeries& s : log.series) names.push_back(s.name);
    for (const PlotGroup& g : group_metrics(names))
        if (g.stem == "losses" || g.stem == "discriminator") out.insert(out.end(), g.metrics.begin(), g.metrics.end());
    return out;
}

std::string known_names(const MetricsLog& log) {
    std::string known;
    for (const MetricSeries& s : log.series) known += (known.empty() ? "" : ", ") + printable(s.name);
    return io::quote_short(known, 400);
}

std::string step_text(double step) {
    return step == std::floor(step) && std::abs(step) < 1e15 ? fmt::format("{}", int64_t(step)) : fmt::format("{:.9g}", step);
}

// A cell: a number, "null" where the log had null (a NaN), "-" (or empty in CSV) where nothing.
struct Cell {
    bool null = false;
    double value = 0;
};

std::string cell_text(const std::optional<Cell>& c, TableFormat format) {
    if (!c) return format == TableFormat::Csv ? "" : "-";
    if (c->null) return format == TableFormat::Csv ? "nan" : "null";
    if (format == TableFormat::Csv) return fmt::format("{:.9g}", c->value);
    // Counts (modes_covered) as whole numbers; everything else to 4 significant digits, zeros kept.
    if (c->value == std::floor(c->value) && std::abs(c->value) < 1e6) return fmt::format("{}", int64_t(c->value));
    return fmt::format("{:#.4g}", c->value);
}

// RFC 4180 quoting; a leading = + - @ is defused so a spreadsheet does not run the name as a formula.
std::string csv_field(std::string s) {
    if (!s.empty() && std::string_view("=+-@").find(s[0]) != std::string_view::npos) s = "'" + s;
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string markdown_field(const std::string& s) {
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
}

}  // namespace

std::string metrics_table(const MetricsLog& log, const TableOptions& options) {
    std::vector<std::string> columns;
    for (const std::string& c : options.columns.empty() ? default_columns(log) : options.columns)
        if (c != "step") columns.push_back(c);
    std::vector<std::string> unknown;
    for (const std::string& c : columns)
        if (!log.find(c)) unknown.push_back(fmt::format("'{}'", printable(c)));
    if (!unknown.empty()) {
        std::string list;
        for (const std::string& u : unknown) list += (list.empty() ? "" : ", ") + u;
        MG_FAIL("report --columns: unknown metric{} {} (the log has: {})", unknown.size() > 1 ? "s" : "",
                io::quote_short(list, 300), known_names(log));
    }
    MG_CHECK(!columns.empty(), "report --table: the log has no losses or D outputs; choose --columns from: {}",
             known_names(log));

    // Rows: every step where at least one chosen metric was logged (the last record wins).
    std::map<double, std::vector<std::optional<Cell>>> rows;
    for (size_t k = 0; k < columns.size(); ++k) {
        const MetricSeries& s = *log.find(columns[k]);
        auto cell = [&](double step) -> std::optional<Cell>& {
            auto& row = rows[step];
            row.resize(columns.size());
            return row[k];
        };
        for (size_t i = 0; i < s.steps.size(); ++i) cell(s.steps[i]) = Cell{false, s.values[i]};
        for (double step : s.null_steps) cell(step) = Cell{true, 0};
    }

    // --every N: the first row at or after each multiple of N.
    std::vector<std::vector<std::string>> table = {{"step"}};
    for (const std::string& c : columns) table[0].push_back(printable(c));
    double next = -std::numeric_limits<double>::infinity();
    for (const auto& [step, cells] : rows) {
        if (step < next) continue;
        if (options.every > 0) next = (std::floor(step / double(options.every)) + 1) * double(options.every);
        std::vector<std::string> line = {step_text(step)};
        for (const std::optional<Cell>& c : cells) line.push_back(cell_text(c, options.format));
        table.push_back(std::move(line));
    }

    std::string out;
    switch (options.format) {
        case TableFormat::Csv:
            for (const auto& line : table) {
                for (size_t k = 0; k < line.size(); ++k) {
                    if (k) out += ',';
                    out += csv_field(line[k]);
                }
                out += "\n";
            }
            break;
        case TableFormat::Markdown:
            for (size_t r = 0; r < table.size(); ++r) {
                for (const std::string& field : table[r]) out += "| " + markdown_field(field) + " ";
                out += "|\n";
                if (r == 0) {
                    for (size_t k = 0; k < table[0].size(); ++k) out += "| ---: ";
                    out += "|\n";
                }
            }
            break;
        case TableFormat::Text: {
            std::vector<size_t> width(table[0].size(), 0);
            for (const auto& line : table)
                for (size_t k = 0; k < line.size(); ++k) width[k] = std::max(width[k], line[k].size());
            for (const auto& line : table) {
                for (size_t k = 0; k < line.size(); ++k) out += fmt::format("{}{:>{}}", k ? "  " : "", line[k], width[k]);
                out += "\n";
            }
            break;
        }
    }
    return out;
}

}  // namespace mg::tools
