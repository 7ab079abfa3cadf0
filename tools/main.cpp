// minigen: train · sample · eval · bench · profile · report · info · demo · data · export
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "core/dist/collective.h"
#include "core/omp_wait_policy_startup.h"  // waiting threads spin briefly, then sleep
#include "kernels/base.h"
#include "tools/cli.h"

int main(int argc, char** argv) {
    CLI::App app{"minigen: a deep learning framework for generative image models"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "minigen 0.1.0");
    mg::tools::add_train_command(app);
    mg::tools::add_sample_command(app);
    mg::tools::add_eval_command(app);
    mg::tools::add_report_command(app);
    mg::tools::add_info_command(app);
    mg::tools::add_demo_command(app);
    mg::tools::add_bench_command(app);
    mg::tools::add_profile_command(app);
    mg::tools::add_data_command(app);
    mg::tools::add_export_command(app);
    mg::tools::add_stylize_command(app);
    mg::tools::add_quantize_command(app);
    mg::tools::set_command_line(argc, argv);
    try {
        mg::dist::Session mpi;  // MPI when started by mpirun with several ranks
        try {
            app.parse(argc, argv);
        } catch (const std::exception& e) {
            if (mg::dist::distributed() && !dynamic_cast<const CLI::Error*>(&e)) {
                // The other ranks would wait for this one forever: say why, then end them all.
                std::fprintf(stderr, "minigen: error: rank %d: %s\n", mg::dist::world().rank(), e.what());
                mg::dist::abort_if_distributed(2);
            }
            throw;
        }
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "minigen: %s (see minigen --help)\n", e.what());
        return 2;
    } catch (const mg::Error& e) {
        std::fprintf(stderr, "minigen: error: %s\n", e.what());
        return 2;
    } catch (const std::filesystem::filesystem_error& e) {
        // A missing, read-only or wrongly typed path is the user's to fix, not a bug:
        // "cannot create directories: Permission denied: 'runs/x/samples'".
        std::string what = e.what();
        if (what.rfind("filesystem error: ", 0) == 0) what.erase(0, 18);
        if (size_t paths = what.find(" ["); paths != std::string::npos) what.erase(paths);
        what += ": '" + e.path1().string() + "'";
        if (!e.path2().empty()) what += " and '" + e.path2().string() + "'";
        std::fprintf(stderr, "minigen: error: %s\n", what.c_str());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "minigen: internal error: %s\n", e.what());
        return 1;
    }
    return 0;
}
