// The argument builders and error translations of the helpers are unit-tested.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("Skiff.Tests")]
