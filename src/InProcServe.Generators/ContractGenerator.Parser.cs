using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using InProcServe.Generators.Helpers;
using InProcServe.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace InProcServe.Generators;

public sealed partial class ContractGenerator
{
    /// <summary>
    /// Turns one [ModelInput] or [ModelOutput] type into a <see cref="ContractSpec"/>. Never throws on bad user
    /// code: every mistake becomes a diagnostic, and a type with an error yields no spec (so nothing half-right
    /// is generated).
    /// </summary>
    internal sealed class Parser
    {
        private const string TensorAttributeName = "InProcServe.TensorAttribute";
        private const string InlineArrayAttributeName = "System.Runtime.CompilerServices.InlineArrayAttribute";
        private const string SetsRequiredMembersAttributeName = "System.Diagnostics.CodeAnalysis.SetsRequiredMembersAttribute";

        private readonly INamedTypeSymbol type;
        private readonly ContractRole role;
        private readonly CancellationToken cancellationToken;
        private readonly List<DiagnosticInfo> diagnostics = [];

        private Parser(INamedTypeSymbol type, ContractRole role, CancellationToken cancellationToken)
        {
            this.type = type;
            this.role = role;
            this.cancellationToken = cancellationToken;
        }

        private string AttributeName => role == ContractRole.Input ? "[ModelInput]" : "[ModelOutput]";

        private string InterfaceName => role == ContractRole.Input ? "IModelInput" : "IModelOutput";

        /// <summary>Parses <paramref name="type"/> as a contract of the given role.</summary>
        public static ContractResult Parse(INamedTypeSymbol type, ContractRole role, CancellationToken cancellationToken)
        {
            var parser = new Parser(type, role, cancellationToken);
            var contract = parser.Parse();
            var hasError = parser.diagnostics.Any(d => d.Descriptor.DefaultSeverity == DiagnosticSeverity.Error);
            return new ContractResult(hasError ? null : contract, parser.diagnostics.ToImmutableEquatableArray());
        }

        private ContractSpec? Parse()
        {
            if (!IsPartialThroughout())
            {
                Report(DiagnosticDescriptors.TypeNotPartial, type.Locations.FirstOrDefault(), type.Name, InterfaceName);
                return null;
            }

            var members = ParseMembers();
            if (members.Count == 0 && diagnostics.Count == 0)
            {
                Report(DiagnosticDescriptors.NoTensorMembers, type.Locations.FirstOrDefault(), type.Name, AttributeName);
            }

            var tensors = GroupIntoTensors(members);
            var constructorArguments = role == ContractRole.Output ? ChooseConstruction(members) : [];

            return new ContractSpec(
                role,
                HintName(),
                type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString(),
                ContainingTypes().Select(Declaration).ToImmutableEquatableArray(),
                Declaration(type),
                type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                type.Name,
                type.IsValueType,
                tensors.ToImmutableEquatableArray(),
                constructorArguments.ToImmutableEquatableArray());
        }

        private bool IsPartialThroughout() =>
            ContainingTypes().Append(type).All(t => t.DeclaringSyntaxReferences
                .Select(r => r.GetSyntax(cancellationToken))
                .OfType<TypeDeclarationSyntax>()
                .Any(d => d.Modifiers.Any(SyntaxKind.PartialKeyword)));

        /// <summary>The enclosing types, outermost first.</summary>
        private IEnumerable<INamedTypeSymbol> ContainingTypes()
        {
            var chain = new List<INamedTypeSymbol>();
            for (var t = type.ContainingType; t is not null; t = t.ContainingType)
            {
                chain.Insert(0, t);
            }

            return chain;
        }

        private static string Declaration(INamedTypeSymbol t)
        {
            var keyword = (t.IsRecord, t.TypeKind) switch
            {
                (true, TypeKind.Struct) => "record struct",
                (true, _) => "record",
                (false, TypeKind.Struct) => "struct",
                (false, TypeKind.Interface) => "interface",
                _ => "class",
            };
            return $"{keyword} {t.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}";
        }

        private string HintName()
        {
            var name = type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat).Substring("global::".Length);
            var safe = new string(name.Select(c => char.IsLetterOrDigit(c) || c is '.' or '_' ? c : '_').ToArray());
            return $"{safe}.{(role == ContractRole.Input ? "ModelInput" : "ModelOutput")}.g.cs";
        }

        /// <summary>Finds every member with a Tensor attribute (on itself or, for a positional record property, on its parameter).</summary>
        private List<ParsedMember> ParseMembers()
        {
            var positional = PositionalParameterAttributes();
            var members = new List<ParsedMember>();
            foreach (var symbol in type.GetMembers())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (symbol.IsImplicitlyDeclared || symbol is not (IFieldSymbol or IPropertySymbol))
                {
                    continue;
                }

                var attribute = TensorAttribute(symbol) ?? (positional.TryGetValue(symbol.Name, out var onParameter) ? onParameter : null);
                if (attribute is null)
                {
                    continue;
                }

                if (symbol.IsStatic || symbol is IPropertySymbol { IsIndexer: true })
                {
                    Report(DiagnosticDescriptors.TensorMemberNotInstance, symbol.Locations.FirstOrDefault(), symbol.Name,
                        symbol.IsStatic ? "it is static; only instance fields and properties hold a row" : "it is an indexer");
                    continue;
                }

                if (ParseMember(symbol, attribute) is { } member)
                {
                    members.Add(member);
                }
            }

            return members;
        }

        /// <summary>
        /// Tensor attributes written on primary constructor parameters, by parameter name. On a record such a
        /// parameter is its positional property; anywhere else it maps to no member, which is reported.
        /// </summary>
        private Dictionary<string, AttributeData> PositionalParameterAttributes()
        {
            var byName = new Dictionary<string, AttributeData>(StringComparer.Ordinal);
            foreach (var constructor in type.InstanceConstructors)
            {
                foreach (var parameter in constructor.Parameters)
                {
                    if (TensorAttribute(parameter) is not { } attribute)
                    {
                        continue;
                    }

                    var syntax = parameter.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken);
                    var isPositional = type.IsRecord && syntax is ParameterSyntax && type.GetMembers(parameter.Name).Any(m =>
                        m is IPropertySymbol && m.DeclaringSyntaxReferences.Any(r => r.GetSyntax(cancellationToken) == syntax));
                    if (isPositional)
                    {
                        byName[parameter.Name] = attribute;
                    }
                    else
                    {
                        Report(DiagnosticDescriptors.TensorMemberNotInstance, parameter.Locations.FirstOrDefault(), parameter.Name,
                            "it is a constructor parameter, not a positional record property; put the attribute on a field or property");
                    }
                }
            }

            return byName;
        }

        private static AttributeData? TensorAttribute(ISymbol symbol) =>
            symbol.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == TensorAttributeName);

        private ParsedMember? ParseMember(ISymbol symbol, AttributeData attribute)
        {
            var location = symbol.Locations.FirstOrDefault();
            var memberType = symbol is IFieldSymbol field ? field.Type : ((IPropertySymbol)symbol).Type;
            var tensorName = attribute.ConstructorArguments.FirstOrDefault().Value as string;
            var column = -1;
            var length = 0;
            int[]? shape = null;
            // An argument the compiler already rejects (a string for Column, say) has no value here: it is skipped,
            // not parsed, so the user sees the compiler's error rather than a generator crash.
            foreach (var argument in attribute.NamedArguments)
            {
                switch (argument.Key, argument.Value)
                {
                    case ("Column", { Value: int value }): column = value; break;
                    case ("Length", { Value: int value }): length = value; break;
                    case ("Shape", { Kind: TypedConstantKind.Array, IsNull: false } array) when array.Values.All(v => v.Value is int):
                        shape = array.Values.Select(v => (int)v.Value!).ToArray();
                        break;
                }
            }

            if (string.IsNullOrEmpty(tensorName))
            {
                return Invalid("the tensor name is empty");
            }

            if (role == ContractRole.Input && symbol is IPropertySymbol { GetMethod: null })
            {
                Report(DiagnosticDescriptors.InputMemberNotReadable, location, symbol.Name, tensorName!);
                return null;
            }

            if (Element(memberType) is { } scalar)
            {
                if (length != 0 || shape is not null)
                {
                    return Invalid("Length and Shape apply to vector members, and this member is a scalar");
                }

                if (column < -1)
                {
                    return Invalid($"Column is {column}; a column is 0 or more");
                }

                var kind = column >= 0 ? MemberKind.Column : MemberKind.Scalar;
                return new ParsedMember(symbol, tensorName!, kind, scalar.Element, scalar.EnumType, memberType, column, [], location);
            }

            if (Vector(memberType) is not { } vector)
            {
                Report(DiagnosticDescriptors.UnsupportedMemberType, location, symbol.Name, memberType.ToDisplayString());
                return null;
            }

            if (column != -1)
            {
                return Invalid("Column applies to scalar members, and this member is a vector; use Length for a whole row");
            }

            if (length != 0 && shape is not null)
            {
                return Invalid("set Length or Shape, not both");
            }

            if (length < 0)
            {
                return Invalid($"Length is {length}; a length is 1 or more");
            }

            if (shape is not null && (shape.Length == 0 || shape.Any(d => d <= 0)))
            {
                return Invalid($"Shape is [{string.Join(",", shape)}]; a shape has at least one dimension, each 1 or more");
            }

            int[] rowShape;
            if (shape is not null)
            {
                rowShape = shape;
            }
            else if (length != 0)
            {
                rowShape = [length];
            }
            else if (vector.FixedLength is { } fixedLength)
            {
                rowShape = [fixedLength];
            }
            else
            {
                Report(DiagnosticDescriptors.MissingVectorLength, location, symbol.Name);
                return null;
            }

            var rowLength = rowShape.Aggregate(1L, (product, d) => product * d);
            if (rowLength > int.MaxValue)
            {
                return Invalid($"Shape [{string.Join(",", rowShape)}] holds {rowLength} elements per row, more than a span can");
            }

            if (vector.FixedLength is { } inlineLength && inlineLength != rowLength)
            {
                return Invalid($"'{memberType.Name}' holds {inlineLength} elements but the attribute declares {rowLength}");
            }

            return new ParsedMember(symbol, tensorName!, vector.Kind, vector.Element, vector.EnumType, memberType, -1, rowShape, location);

            ParsedMember? Invalid(string reason)
            {
                Report(DiagnosticDescriptors.InvalidTensorArguments, location, symbol.Name, reason);
                return null;
            }
        }

        /// <summary>The element type of a scalar member: a supported primitive, or an enum as its underlying type.</summary>
        private static (ElementTypeSpec Element, string? EnumType)? Element(ITypeSymbol t)
        {
            if (t is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } underlying })
            {
                return Primitive(underlying) is { } element ? (element, t.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)) : null;
            }

            return Primitive(t) is { } primitive ? (primitive, null) : null;
        }

        private static ElementTypeSpec? Primitive(ITypeSymbol t) => t.SpecialType switch
        {
            SpecialType.System_Single => new("Float", "float"),
            SpecialType.System_Double => new("Double", "double"),
            SpecialType.System_SByte => new("Int8", "sbyte"),
            SpecialType.System_Int16 => new("Int16", "short"),
            SpecialType.System_Int32 => new("Int32", "int"),
            SpecialType.System_Int64 => new("Int64", "long"),
            SpecialType.System_Byte => new("UInt8", "byte"),
            SpecialType.System_UInt16 => new("UInt16", "ushort"),
            SpecialType.System_UInt32 => new("UInt32", "uint"),
            SpecialType.System_UInt64 => new("UInt64", "ulong"),
            SpecialType.System_Boolean => new("Bool", "bool"),
            _ when t is { Name: "Half", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } =>
                new("Float16", "global::System.Half"),
            _ => null,
        };

        /// <summary>A vector member: T[], ReadOnlyMemory&lt;T&gt; or an [InlineArray] struct of a supported element.</summary>
        private static (MemberKind Kind, ElementTypeSpec Element, string? EnumType, int? FixedLength)? Vector(ITypeSymbol t)
        {
            switch (t)
            {
                case IArrayTypeSymbol { Rank: 1, ElementType: var element } when Element(element) is { } e:
                    return (MemberKind.Array, e.Element, e.EnumType, null);
                case INamedTypeSymbol { IsGenericType: true } named
                    when named.ConstructedFrom.ToDisplayString() == "System.ReadOnlyMemory<T>" && Element(named.TypeArguments[0]) is { } e:
                    return (MemberKind.ReadOnlyMemory, e.Element, e.EnumType, null);
                case INamedTypeSymbol { TypeKind: TypeKind.Struct } named
                    when named.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == InlineArrayAttributeName) is { } inline
                         && inline.ConstructorArguments.FirstOrDefault().Value is int inlineLength
                         && named.GetMembers().OfType<IFieldSymbol>().FirstOrDefault(f => !f.IsStatic) is { } elementField
                         && Element(elementField.Type) is { } e:
                    return (MemberKind.InlineArray, e.Element, e.EnumType, inlineLength);
                default:
                    return null;
            }
        }

        /// <summary>Groups members by tensor name, in source order, checking that members sharing a tensor are columns that fit together.</summary>
        private List<TensorSpec> GroupIntoTensors(List<ParsedMember> members)
        {
            var tensors = new List<TensorSpec>();
            foreach (var group in members.GroupBy(m => m.TensorName, StringComparer.Ordinal))
            {
                var list = group.ToList();
                if (list.Count == 1 && list[0].Kind != MemberKind.Column)
                {
                    var member = list[0];
                    tensors.Add(new TensorSpec(group.Key, member.Element, member.RowShape.ToImmutableEquatableArray(), new[] { ToSpec(member) }.ToImmutableEquatableArray()));
                    continue;
                }

                if (list.Any(m => m.Kind != MemberKind.Column))
                {
                    Report(DiagnosticDescriptors.DuplicateTensorName, list[1].Location, group.Key, Describe(list));
                    continue;
                }

                if (ColumnsFit(group.Key, list))
                {
                    var columns = list.OrderBy(m => m.Column).ToList();
                    tensors.Add(new TensorSpec(group.Key, columns[0].Element, new[] { columns.Count }.ToImmutableEquatableArray(), columns.Select(ToSpec).ToImmutableEquatableArray()));
                }
            }

            return tensors;

            static string Describe(List<ParsedMember> list) =>
                string.Join(", ", list.Select(m => m.Kind == MemberKind.Column ? $"{m.Symbol.Name} (column {m.Column})" : m.Symbol.Name));
        }

        private bool ColumnsFit(string tensor, List<ParsedMember> columns)
        {
            var fits = true;
            var first = columns[0];
            foreach (var other in columns.Skip(1).Where(m => m.Element != first.Element))
            {
                Report(DiagnosticDescriptors.ConflictingElementTypes, other.Location, tensor,
                    first.Element.Keyword, first.Symbol.Name, other.Element.Keyword, other.Symbol.Name);
                fits = false;
            }

            var byColumn = new Dictionary<int, ParsedMember>();
            foreach (var member in columns)
            {
                if (byColumn.TryGetValue(member.Column, out var earlier))
                {
                    Report(DiagnosticDescriptors.DuplicateColumn, member.Location, member.Column.ToString(), tensor, earlier.Symbol.Name, member.Symbol.Name);
                    fits = false;
                }
                else
                {
                    byColumn.Add(member.Column, member);
                }
            }

            var width = byColumn.Keys.Max() + 1;
            var gaps = Enumerable.Range(0, width).Where(c => !byColumn.ContainsKey(c)).ToList();
            if (gaps.Count > 0)
            {
                Report(DiagnosticDescriptors.ColumnGap, first.Location, tensor, width.ToString(), (width - 1).ToString(),
                    (gaps.Count == 1 ? "column " : "columns ") + string.Join(", ", gaps));
                fits = false;
            }

            return fits;
        }

        /// <summary>
        /// Picks how ReadRow builds the output: the constructor with the most parameters that all name tensor
        /// members of the same type (a positional record's primary constructor), a parameterless one at least;
        /// every other member is set in an object initializer and so needs a set or init accessor.
        /// </summary>
        private List<string> ChooseConstruction(List<ParsedMember> members)
        {
            var location = type.Locations.FirstOrDefault();
            if (type.IsAbstract)
            {
                Report(DiagnosticDescriptors.OutputTypeNotConstructible, location, type.Name, "it is abstract");
                return [];
            }

            var byName = members.ToDictionary(m => m.Symbol.Name, StringComparer.OrdinalIgnoreCase);
            IMethodSymbol? chosen = null;
            foreach (var constructor in type.InstanceConstructors)
            {
                var isCopyConstructor = type.IsRecord && constructor.Parameters.Length == 1
                    && SymbolEqualityComparer.Default.Equals(constructor.Parameters[0].Type, type);
                var allMapped = constructor.Parameters.All(p =>
                    byName.TryGetValue(p.Name, out var m) && SymbolEqualityComparer.Default.Equals(p.Type, m.Type));
                if (!isCopyConstructor && allMapped && (chosen is null || constructor.Parameters.Length > chosen.Parameters.Length))
                {
                    chosen = constructor;
                }
            }

            if (chosen is null)
            {
                Report(DiagnosticDescriptors.OutputTypeNotConstructible, location, type.Name,
                    "no constructor takes only tensor members; add a parameterless constructor, or one whose parameters are named and typed like tensor members");
                return [];
            }

            var arguments = chosen.Parameters.Select(p => byName[p.Name].Symbol.Name).ToList();
            var initialized = new HashSet<string>(members.Select(m => m.Symbol.Name).Except(arguments), StringComparer.Ordinal);
            foreach (var member in members.Where(m => initialized.Contains(m.Symbol.Name)))
            {
                var settable = member.Symbol switch
                {
                    IFieldSymbol field => !field.IsReadOnly && !field.IsConst,
                    IPropertySymbol property => property.SetMethod is not null,
                    _ => false,
                };
                if (!settable)
                {
                    Report(DiagnosticDescriptors.OutputMemberNotSettable, member.Location, member.Symbol.Name, member.TensorName);
                }
            }

            var setsRequired = chosen.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == SetsRequiredMembersAttributeName);
            var unset = type.GetMembers()
                .Where(m => m is IPropertySymbol { IsRequired: true } or IFieldSymbol { IsRequired: true } && !initialized.Contains(m.Name))
                .Select(m => m.Name)
                .ToList();
            if (!setsRequired && unset.Count > 0)
            {
                Report(DiagnosticDescriptors.OutputTypeNotConstructible, location, type.Name,
                    $"its required member{(unset.Count > 1 ? "s" : "")} {string.Join(", ", unset)} {(unset.Count > 1 ? "are" : "is")} not read from a tensor");
            }

            return arguments;
        }

        private MemberSpec ToSpec(ParsedMember member) => new(
            member.Symbol.Name,
            member.Kind,
            member.Type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
            member.EnumType,
            member.Column,
            member.RowShape.Aggregate(1, (product, d) => product * d),
            member.Symbol is IFieldSymbol);

        private void Report(DiagnosticDescriptor descriptor, Location? location, params string[] arguments) =>
            diagnostics.Add(new DiagnosticInfo(descriptor, LocationInfo.From(location), arguments.ToImmutableEquatableArray()));

        /// <summary>A member as the parser sees it; holds symbols, so it never leaves the parser.</summary>
        private sealed record ParsedMember(
            ISymbol Symbol,
            string TensorName,
            MemberKind Kind,
            ElementTypeSpec Element,
            string? EnumType,
            ITypeSymbol Type,
            int Column,
            int[] RowShape,
            Location? Location);
    }
}
