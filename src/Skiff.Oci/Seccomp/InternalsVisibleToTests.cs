// The seccomp tests check the generated syscall table and compile huge profiles from it.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Skiff.Tests")]
