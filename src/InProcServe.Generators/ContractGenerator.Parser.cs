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
        private readonly Compilation compilation;
        private readonly CancellationToken cancellationToken;
        private readonly List<DiagnosticInfo> diagnostics = [];

        private Parser(INamedTypeSymbol type, ContractRole role, Compilation compilation, CancellationToken cancellationToken)
        {
            this.type = type;
            this.role = role;
            this.compilation = compilation;
            this.cancellationToken = cancellationToken;
        }

        private string AttributeName => role == ContractRole.Input ? "[ModelInput]" : "[ModelOutput]";

        private string InterfaceName => role == ContractRole.Input ? "IModelInput" : "IModelOutput";

        /// <summary>
        /// Parses <paramref name="type"/> as a contract of the given role; <paramref name="compilation"/> is the one
        /// that declares it, which decides what the generated binder can reach in its base types.
        /// </summary>
        public static ContractResult Parse(INamedTypeSymbol type, ContractRole role, Compilation compilation, CancellationToken cancellationToken)
        {
            var parser = new Parser(type, role, compilation, cancellationToken);
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

        /// <summary>
        /// Finds every member with a Tensor attribute (on itself or, for a positional record property, on its
        /// parameter), declared on the type or inherited from its base types: base types' members first, each
        /// type's in declaration order.
        /// </summary>
        private List<ParsedMember> ParseMembers()
        {
            var members = new List<ParsedMember>();
            foreach (var (symbol, attribute) in TensorMembers())
            {
                if (symbol.IsStatic || symbol is IPropertySymbol { IsIndexer: true })
                {
                    Report(DiagnosticDescriptors.TensorMemberNotInstance, LocationOf(symbol), MemberName(symbol),
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
        /// The fields and properties that carry a Tensor attribute, from the type and every base type up to object.
        /// A name is bound once, through its most-derived declaration, as C# member lookup finds it: a member hidden
        /// (<c>new</c>) or overridden in a more-derived type is skipped. An override without an attribute of its own
        /// keeps the one of the member it overrides (it is the same member: the binder reading the base declaration
        /// would call the override anyway); a member that hides without one hides the mapping too. A member the
        /// contract type can't reach (private to a base type) hides nothing, as in C#; if it has an attribute it is
        /// kept, so that the checks report why the binder can't use it.
        /// </summary>
        private List<(ISymbol Symbol, AttributeData Attribute)> TensorMembers()
        {
            var levels = new List<List<(ISymbol, AttributeData)>>();
            var declaredBelow = new HashSet<string>(StringComparer.Ordinal);
            foreach (var declaring in Hierarchy())
            {
                var positional = PositionalParameterAttributes(declaring);
                var level = new List<(ISymbol, AttributeData)>();
                var declaredHere = new List<string>();
                foreach (var symbol in declaring.GetMembers())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (declaredBelow.Contains(symbol.Name))
                    {
                        continue;
                    }

                    if (symbol.CanBeReferencedByName && IsReachable(symbol))
                    {
                        declaredHere.Add(symbol.Name);
                    }

                    if (symbol.IsImplicitlyDeclared || symbol is not (IFieldSymbol or IPropertySymbol))
                    {
                        continue;
                    }

                    var attribute = TensorAttribute(symbol)
                        ?? (positional.TryGetValue(symbol.Name, out var onParameter) ? onParameter : null)
                        ?? OverriddenTensorAttribute(symbol);
                    if (attribute is not null)
                    {
                        level.Add((symbol, attribute));
                    }
                }

                declaredBelow.UnionWith(declaredHere);
                levels.Add(level);
            }

            levels.Reverse();
            return levels.SelectMany(level => level).ToList();
        }

        /// <summary>The contract type, then its base types up to, not including, object (or ValueType for a struct).</summary>
        private IEnumerable<INamedTypeSymbol> Hierarchy()
        {
            for (var t = type; t is not null && t.SpecialType is not (SpecialType.System_Object or SpecialType.System_ValueType); t = t.BaseType)
            {
                yield return t;
            }
        }

        /// <summary>
        /// Tensor attributes written on primary constructor parameters of <paramref name="declaring"/>, by
        /// parameter name. On a record such a parameter is its positional property; anywhere else it maps to no
        /// member, which is reported. A type from metadata keeps no syntax to tell its primary constructor by, so
        /// there a parameter counts as positional when the record has a property of its name and type, and is
        /// otherwise left alone: that is the other assembly's mistake, with no source here to point at.
        /// </summary>
        private Dictionary<string, AttributeData> PositionalParameterAttributes(INamedTypeSymbol declaring)
        {
            var byName = new Dictionary<string, AttributeData>(StringComparer.Ordinal);
            foreach (var constructor in declaring.InstanceConstructors)
            {
                foreach (var parameter in constructor.Parameters)
                {
                    if (TensorAttribute(parameter) is not { } attribute)
                    {
                        continue;
                    }

                    var syntax = parameter.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken);
                    var isPositional = declaring.IsRecord && declaring.GetMembers(parameter.Name).Any(m => m is IPropertySymbol property && (syntax is null
                        ? !property.IsStatic && SymbolEqualityComparer.Default.Equals(property.Type, parameter.Type)
                        : property.DeclaringSyntaxReferences.Any(r => r.GetSyntax(cancellationToken) == syntax)));
                    if (isPositional)
                    {
                        byName[parameter.Name] = attribute;
                    }
                    else if (syntax is not null)
                    {
                        Report(DiagnosticDescriptors.TensorMemberNotInstance, parameter.Locations.FirstOrDefault(), parameter.Name,
                            "it is a constructor parameter, not a positional record property; put the attribute on a field or property");
                    }
                }
            }

            return byName;
        }

        /// <summary>The attribute of the nearest member that <paramref name="symbol"/> overrides and that has one.</summary>
        private static AttributeData? OverriddenTensorAttribute(ISymbol symbol)
        {
            for (var property = (symbol as IPropertySymbol)?.OverriddenProperty; property is not null; property = property.OverriddenProperty)
            {
                if (TensorAttribute(property) is { } attribute)
                {
                    return attribute;
                }
            }

            return null;
        }

        private static AttributeData? TensorAttribute(ISymbol symbol) =>
            symbol.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == TensorAttributeName);

        private ParsedMember? ParseMember(ISymbol symbol, AttributeData attribute)
        {
            var location = LocationOf(symbol);
            var name = MemberName(symbol);
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

            if (role == ContractRole.Input && Unreadable(symbol) is { } unreadable)
            {
                Report(DiagnosticDescriptors.InputMemberNotReadable, location, name, tensorName!, unreadable);
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
                Report(DiagnosticDescriptors.UnsupportedMemberType, location, name, memberType.ToDisplayString());
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
                Report(DiagnosticDescriptors.MissingVectorLength, location, name);
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
                Report(DiagnosticDescriptors.InvalidTensorArguments, location, name, reason);
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

            string Describe(List<ParsedMember> list) =>
                string.Join(", ", list.Select(m => m.Kind == MemberKind.Column ? $"{MemberName(m.Symbol)} (column {m.Column})" : MemberName(m.Symbol)));
        }

        private bool ColumnsFit(string tensor, List<ParsedMember> columns)
        {
            var fits = true;
            var first = columns[0];
            foreach (var other in columns.Skip(1).Where(m => m.Element != first.Element))
            {
                Report(DiagnosticDescriptors.ConflictingElementTypes, other.Location, tensor,
                    first.Element.Keyword, MemberName(first.Symbol), other.Element.Keyword, MemberName(other.Symbol));
                fits = false;
            }

            var byColumn = new Dictionary<int, ParsedMember>();
            foreach (var member in columns)
            {
                if (byColumn.TryGetValue(member.Column, out var earlier))
                {
                    Report(DiagnosticDescriptors.DuplicateColumn, member.Location, member.Column.ToString(), tensor, MemberName(earlier.Symbol), MemberName(member.Symbol));
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

            IMethodSymbol? chosen = null;
            foreach (var constructor in type.InstanceConstructors)
            {
                var isCopyConstructor = type.IsRecord && constructor.Parameters.Length == 1
                    && SymbolEqualityComparer.Default.Equals(constructor.Parameters[0].Type, type);
                var allMapped = constructor.Parameters.All(p => MemberFor(p, members) is not null);
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

            var arguments = chosen.Parameters.Select(p => MemberFor(p, members)!.Symbol.Name).ToList();
            var initialized = new HashSet<string>(members.Select(m => m.Symbol.Name).Except(arguments), StringComparer.Ordinal);
            foreach (var member in members.Where(m => initialized.Contains(m.Symbol.Name)))
            {
                if (Unsettable(member.Symbol) is { } unsettable)
                {
                    Report(DiagnosticDescriptors.OutputMemberNotSettable, member.Location, MemberName(member.Symbol), member.TensorName, unsettable);
                }
            }

            // A required member of a base type must be set too; C# forbids hiding one, so each name is one member.
            var setsRequired = chosen.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == SetsRequiredMembersAttributeName);
            var unset = Hierarchy()
                .SelectMany(t => t.GetMembers())
                .Where(m => m is IPropertySymbol { IsRequired: true } or IFieldSymbol { IsRequired: true } && !initialized.Contains(m.Name))
                .GroupBy(m => m.Name, StringComparer.Ordinal)
                .Select(g => MemberName(g.First()))
                .ToList();
            if (!setsRequired && unset.Count > 0)
            {
                Report(DiagnosticDescriptors.OutputTypeNotConstructible, location, type.Name,
                    $"its required member{(unset.Count > 1 ? "s" : "")} {string.Join(", ", unset)} {(unset.Count > 1 ? "are" : "is")} not read from a tensor");
            }

            return arguments;
        }

        /// <summary>
        /// The member whose value a constructor parameter takes: one of the same type whose name matches, exactly
        /// or else ignoring case (a record's "probability" parameter for its "Probability" property); null if none.
        /// </summary>
        private static ParsedMember? MemberFor(IParameterSymbol parameter, List<ParsedMember> members) =>
            members
                .Where(m => string.Equals(m.Symbol.Name, parameter.Name, StringComparison.OrdinalIgnoreCase) && SymbolEqualityComparer.Default.Equals(m.Type, parameter.Type))
                .OrderBy(m => m.Symbol.Name == parameter.Name ? 0 : 1)
                .FirstOrDefault();

        /// <summary>Why the binder can't read an input member, or null when it can.</summary>
        private string? Unreadable(ISymbol symbol)
        {
            if (!IsReachable(symbol))
            {
                return Unreachable("is", symbol);
            }

            if (symbol is not IPropertySymbol property)
            {
                return null;
            }

            var getter = Accessor(property, p => p.GetMethod);
            return getter is null ? "has no get accessor" : IsReachable(getter) ? null : Unreachable("its get accessor is", getter);
        }

        /// <summary>Why the binder can't set an output member in an object initializer, or null when it can.</summary>
        private string? Unsettable(ISymbol symbol)
        {
            if (!IsReachable(symbol))
            {
                return Unreachable("is", symbol);
            }

            switch (symbol)
            {
                case IFieldSymbol { IsReadOnly: true }:
                    return "is a readonly field";
                case IPropertySymbol property:
                    var setter = Accessor(property, p => p.SetMethod);
                    return setter is null ? "has no set or init accessor"
                        : IsReachable(setter) ? null
                        : Unreachable(setter.IsInitOnly ? "its init accessor is" : "its set accessor is", setter);
                default:
                    return null;
            }
        }

        /// <summary>An accessor of <paramref name="property"/>, or of the member it overrides when the override leaves that accessor out.</summary>
        private static IMethodSymbol? Accessor(IPropertySymbol property, Func<IPropertySymbol, IMethodSymbol?> pick)
        {
            for (var p = property; p is not null; p = p.OverriddenProperty)
            {
                if (pick(p) is { } accessor)
                {
                    return accessor;
                }
            }

            return null;
        }

        /// <summary>
        /// Whether the binder, generated into the contract type, can name <paramref name="symbol"/> on a value of that
        /// type: always for the type's own members, for a base type's as C# access rules say (not private, not
        /// internal to another assembly).
        /// </summary>
        private bool IsReachable(ISymbol symbol) => compilation.IsSymbolAccessibleWithin(symbol, type, type);

        /// <summary>Why a member or accessor of a base type is out of the binder's reach: "its init accessor is private in 'ScoreBase'".</summary>
        private static string Unreachable(string subject, ISymbol symbol) =>
            $"{subject} {SyntaxFacts.GetText(symbol.DeclaredAccessibility)} in '{symbol.ContainingType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}'";

        /// <summary>Where to report a problem with a member: its declaration, or the contract type when it was declared in metadata.</summary>
        private Location? LocationOf(ISymbol symbol) =>
            symbol.Locations.FirstOrDefault(l => l.IsInSource) ?? type.Locations.FirstOrDefault();

        /// <summary>A member as messages name it; an inherited one with the type declaring it ("TransactionBase.Amount"), since that is where to look.</summary>
        private string MemberName(ISymbol symbol) =>
            SymbolEqualityComparer.Default.Equals(symbol.ContainingType, type)
                ? symbol.Name
                : $"{symbol.ContainingType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}.{symbol.Name}";

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
