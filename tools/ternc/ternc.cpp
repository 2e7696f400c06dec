#include "tern/Driver/Driver.h"

int main(int argc, char **argv) { return tern::terncMain(argc, argv); }
