// app/app.h — builds everything from the command line and config; owns threads, signals and
// shutdown. main.cpp only calls RunApp.
#pragma once

namespace veridge::app {

// Runs the `veridge` CLI. Returns the process exit code: 0 success / positive verdict,
// 1 negative verdict, 2 bad input or usage, 3 internal or dependency failure.
int RunApp(int argc, char** argv);

}  // namespace veridge::app
