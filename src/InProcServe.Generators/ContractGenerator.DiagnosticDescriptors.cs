using Microsoft.CodeAnalysis;

namespace InProcServe.Generators;

public sealed partial class ContractGenerator
{
    /// <summary>
    /// Every diagnostic the generator reports. IDs are stable: a retired ID is never reused. docs/diagnostics.md
    /// lists each one with an example and the fix.
    /// </summary>
    internal static class DiagnosticDescriptors
    {
        private const string Category = "InProcServe.Contracts";

        /// <summary>The generator adds an interface to the type, which needs every declaration to be partial.</summary>
        public static DiagnosticDescriptor TypeNotPartial { get; } = Error(
            "IPS0001",
            "Model contract type must be partial",
            "'{0}' must be declared partial, and so must every type that contains it, so the generator can add its {1} implementation");

        public static DiagnosticDescriptor UnsupportedMemberType { get; } = Error(
            "IPS0002",
            "Unsupported tensor member type",
            "'{0}' has type '{1}', which can't be bound to a tensor: use float, double, Half, an integer type, bool or an enum, or a T[], ReadOnlyMemory<T> or [InlineArray] struct of one of them");

        public static DiagnosticDescriptor DuplicateTensorName { get; } = Error(
            "IPS0003",
            "Tensor filled by more than one member",
            "Tensor '{0}' is mapped by {1}: only scalar members with distinct Column values can share a tensor");

        public static DiagnosticDescriptor DuplicateColumn { get; } = Error(
            "IPS0004",
            "Column filled twice",
            "Column {0} of tensor '{1}' is mapped by both {2} and {3}");

        public static DiagnosticDescriptor ColumnGap { get; } = Error(
            "IPS0005",
            "Columns leave a gap",
            "Tensor '{0}' has {1} columns (0 to {2}) but no member maps {3}: every column of a row must be mapped");

        public static DiagnosticDescriptor ConflictingElementTypes { get; } = Error(
            "IPS0006",
            "Columns of one tensor have different element types",
            "Tensor '{0}' would hold {1} for {2} but {3} for {4}: all columns of a tensor must have one element type");

        public static DiagnosticDescriptor MissingVectorLength { get; } = Error(
            "IPS0007",
            "Vector member needs a length",
            "'{0}' is a vector: set Length (a row of [N,Length]) or Shape (a per-row tensor) on its Tensor attribute, so the model can be checked at load and every row's length at run time");

        public static DiagnosticDescriptor InvalidTensorArguments { get; } = Error(
            "IPS0008",
            "Invalid Tensor attribute arguments",
            "The Tensor attribute of '{0}' is invalid: {1}");

        public static DiagnosticDescriptor OutputMemberNotSettable { get; } = Error(
            "IPS0009",
            "Output member can't be set",
            "'{0}' is read from tensor '{1}' but {2}, and no constructor parameter takes its value, so the generated binder can't assign it");

        public static DiagnosticDescriptor InputMemberNotReadable { get; } = Error(
            "IPS0010",
            "Input member can't be read",
            "'{0}' is written into tensor '{1}' but {2}");

        public static DiagnosticDescriptor OutputTypeNotConstructible { get; } = Error(
            "IPS0011",
            "Output type can't be constructed",
            "'{0}' can't be created by the generated binder: {1}");

        public static DiagnosticDescriptor NoTensorMembers { get; } = new(
            "IPS0012",
            "Model contract maps no tensors",
            "'{0}' is marked {1} but none of its fields or properties, declared or inherited, has a Tensor attribute",
            Category,
            DiagnosticSeverity.Warning,
            isEnabledByDefault: true);

        public static DiagnosticDescriptor TensorMemberNotInstance { get; } = Error(
            "IPS0013",
            "Tensor attribute on a member that can't hold a row",
            "'{0}' can't be mapped to a tensor: {1}");

        private static DiagnosticDescriptor Error(string id, string title, string message) =>
            new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
    }
}
