// The executable is only this: every command lives in VirtMacvtapCommands, so tests run them
// in-process too.
import VirtMacvtapCommands

VirtMacvtapCLI.main()
