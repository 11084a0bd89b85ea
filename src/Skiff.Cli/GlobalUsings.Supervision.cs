global using Skiff.Runtime.Supervision;
