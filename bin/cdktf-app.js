#!/usr/bin/env node
// The app `cdktf synth/diff/deploy` runs (cdktf.json): main.ts from the same compile cache as the commands
// (see register.js), instead of ts-node compiling the module graph on every run.
require("./register").register();
require("../main");
