#include "app/app.h"

int main(int argc, char** argv) { return veridge::app::RunApp(argc, argv); }
