"""Names, phone numbers, places and habits that look right for a tenant's country."""

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class NameGroup:
    """First and last names that go together (a language or community), and how common it is."""

    weight: int
    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]
    language: str = ""


@dataclass(frozen=True)
class Place:
    city: str
    state: str
    neighborhoods: tuple[str, ...]
    streets: tuple[str, ...]
    area_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Locale:
    """What customers of one country look like."""

    country: str
    language: str
    name_groups: tuple[NameGroup, ...]
    places: tuple[Place, ...]
    email_domains: tuple[str, ...]
    acquisition_sources: tuple[str, ...]
    contact_methods: tuple[str, ...]
    # Mobile numbers: the country code, then how to draw the national number.
    country_code: str
    mobile_prefixes: tuple[str, ...] = ()
    national_digits: int = 10
    postal_code: str = "#####"
    # True where people commonly carry two family names (Mexico).
    two_last_names: bool = False


def _items(text: str) -> tuple[str, ...]:
    """'Ikeja, Lekki, Victoria Island' -> ('Ikeja', 'Lekki', 'Victoria Island')."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def ascii_slug(text: str) -> str:
    """'Adébáyọ̀ Ọ́lá' -> 'adebayoola': a name as it appears in an email address."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


NIGERIA = Locale(
    country="NG",
    language="en",
    name_groups=(
        NameGroup(
            weight=30,
            language="yo",
            female=_items(
                "Folake, Funmilayo, Yetunde, Bukola, Damilola, Temitope, Abimbola, Titilayo, "
                "Omolara, Adunni, Kehinde, Taiwo, Morenike, Oluwaseun, Adeola, Bisola, Ronke, "
                "Iyabo, Modupe, Tolulope"
            ),
            male=_items(
                "Adebayo, Babatunde, Adewale, Olumide, Ayodele, Oluwaseun, Kayode, Segun, Femi, "
                "Tunde, Gbenga, Dapo, Kunle, Wale, Yinka, Rotimi, Tobi, Bolaji, Lanre, Dotun"
            ),
            last=_items(
                "Adeyemi, Ogunleye, Balogun, Adebayo, Ogunbiyi, Oladipo, Afolabi, Akinola, "
                "Oyelaran, Adewumi, Olawale, Ogundipe, Fashola, Bakare, Oyedepo, Alabi, Ajayi, "
                "Olaniyan, Adeleke, Ilori"
            ),
        ),
        NameGroup(
            weight=25,
            language="ig",
            female=_items(
                "Chiamaka, Ngozi, Ifeoma, Nneka, Adaeze, Chidinma, Amaka, Uju, Obiageli, "
                "Chinyere, Nkechi, Ebele, Oluchi, Chioma, Ifeyinwa"
            ),
            male=_items(
                "Chinedu, Emeka, Obinna, Chukwuemeka, Uchenna, Ikenna, Nnamdi, Kelechi, Chidi, "
                "Ifeanyi, Obiora, Tochukwu, Ebuka, Chibuike, Kenechukwu"
            ),
            last=_items(
                "Okafor, Eze, Nwosu, Okeke, Obi, Onyeka, Nwankwo, Okonkwo, Chukwu, Ibe, Okoro, "
                "Anyanwu, Nwachukwu, Ezeh, Okoye, Uzoma, Agu, Onuoha"
            ),
        ),
        NameGroup(
            weight=25,
            language="ha",
            female=_items(
                "Aisha, Fatima, Hauwa, Zainab, Halima, Maryam, Habiba, Hadiza, Amina, Khadija, "
                "Rukayya, Bilkisu, Sadiya, Jamila, Safiya"
            ),
            male=_items(
                "Aminu, Abubakar, Musa, Ibrahim, Sani, Usman, Yusuf, Abdullahi, Mustapha, Nasiru, "
                "Bashir, Kabiru, Shehu, Umar, Haruna"
            ),
            last=_items(
                "Bello, Abdullahi, Mohammed, Danjuma, Garba, Lawal, Suleiman, Aliyu, Umar, Sani, "
                "Yakubu, Ibrahim, Shehu, Idris, Adamu, Tanko"
            ),
        ),
        NameGroup(
            weight=20,
            language="en",
            female=_items(
                "Blessing, Grace, Peace, Joy, Precious, Esther, Gift, Favour, Mercy, Patience, "
                "Comfort, Deborah, Faith, Victoria, Ruth"
            ),
            male=_items(
                "David, Emmanuel, Victor, Samuel, Michael, Daniel, Godwin, Sunday, Joseph, Peter, "
                "Solomon, Stephen, Paul, Felix, Henry"
            ),
            last=_items(
                "Okafor, Adeyemi, Eze, Johnson, Williams, Etim, Bassey, Effiong, Okon, Udoh, "
                "Edet, Ekanem, Akpan, Oyebanji, Ojo, George"
            ),
        ),
    ),
    places=(
        Place(
            "Lagos",
            "Lagos",
            _items("Ikeja, Lekki, Surulere, Yaba, Ikorodu, Ajah, Victoria Island, Festac"),
            _items(
                "Allen Avenue, Adeola Odeku Street, Awolowo Road, Herbert Macaulay Way, Admiralty "
                "Way, Bode Thomas Street, Opebi Road, Adetokunbo Ademola Street"
            ),
        ),
        Place(
            "Abuja",
            "FCT",
            _items("Wuse II, Garki, Maitama, Gwarinpa, Jabi, Asokoro, Kubwa"),
            _items(
                "Ahmadu Bello Way, Aminu Kano Crescent, Gimbiya Street, Adetokunbo Ademola Crescent"
            ),
        ),
        Place(
            "Kano",
            "Kano",
            _items("Nassarawa, Sabon Gari, Tarauni"),
            _items("Zoo Road, Murtala Mohammed Way, Bompai Road"),
        ),
        Place(
            "Ibadan",
            "Oyo",
            _items("Bodija, Dugbe, Ring Road, Challenge"),
            _items("Awolowo Avenue, Ring Road, Iwo Road"),
        ),
        Place(
            "Port Harcourt",
            "Rivers",
            _items("GRA Phase 2, Rumuola, Trans Amadi"),
            _items("Aba Road, Olu Obasanjo Road, Ikwerre Road"),
        ),
        Place(
            "Enugu",
            "Enugu",
            _items("Independence Layout, New Haven, Ogui"),
            _items("Ogui Road, Zik Avenue, Chime Avenue"),
        ),
        Place(
            "Kaduna",
            "Kaduna",
            _items("Barnawa, Malali, Ungwan Rimi"),
            _items("Ahmadu Bello Way, Constitution Road"),
        ),
        Place(
            "Benin City",
            "Edo",
            _items("GRA, Uselu, Ugbowo"),
            _items("Sapele Road, Akpakpava Road, Airport Road"),
        ),
    ),
    email_domains=_items(
        "gmail.com, gmail.com, gmail.com, yahoo.com, yahoo.com, outlook.com, hotmail.com, "
        "yahoo.co.uk"
    ),
    acquisition_sources=_items(
        "Instagram, Instagram, WhatsApp, WhatsApp, Facebook, Google, Jumia, Jiji, Flyer, Radio, "
        "Word of mouth, Word of mouth, Walked past"
    ),
    contact_methods=_items("whatsapp, whatsapp, whatsapp, sms, sms, phone, email"),
    country_code="234",
    mobile_prefixes=_items(
        "803, 806, 813, 816, 810, 814, 903, 906, 703, 706, 704, 913, 805, 807, 815, 811, 905, "
        "802, 808, 812, 701, 902, 901, 907, 809, 817, 818, 909, 908"
    ),
    national_digits=10,
    postal_code="1#####",
)

BRAZIL = Locale(
    country="BR",
    language="pt-BR",
    name_groups=(
        NameGroup(
            weight=1,
            female=_items(
                "Ana, Maria, Juliana, Fernanda, Beatriz, Mariana, Camila, Larissa, Letícia, "
                "Gabriela, Patrícia, Aline, Bruna, Luana, Júlia, Sabrina, Vitória, Isabela, "
                "Rafaela, Carolina"
            ),
            male=_items(
                "João, Pedro, Lucas, Gabriel, Rafael, Gustavo, Felipe, Bruno, Thiago, Matheus, "
                "Rodrigo, Leonardo, Diego, André, Marcelo, Vinícius, Eduardo, Caio, Henrique, "
                "Luiz"
            ),
            last=_items(
                "Silva, Santos, Oliveira, Souza, Rodrigues, Ferreira, Alves, Pereira, Lima, "
                "Gomes, Costa, Ribeiro, Martins, Carvalho, Almeida, Lopes, Soares, Fernandes, "
                "Vieira, Barbosa, Rocha, Dias, Nascimento, Araújo"
            ),
        ),
    ),
    places=(
        Place(
            "São Paulo",
            "SP",
            _items("Pinheiros, Vila Madalena, Moema, Mooca, Tatuapé, Santana"),
            _items(
                "Rua Augusta, Avenida Paulista, Rua Oscar Freire, Rua Teodoro Sampaio, Rua da "
                "Consolação"
            ),
            area_codes=("11",),
        ),
        Place(
            "Rio de Janeiro",
            "RJ",
            _items("Copacabana, Botafogo, Tijuca, Barra da Tijuca, Leblon"),
            _items(
                "Rua Barata Ribeiro, Avenida Nossa Senhora de Copacabana, Rua Voluntários da Pátria"
            ),
            area_codes=("21",),
        ),
        Place(
            "Belo Horizonte",
            "MG",
            _items("Savassi, Lourdes, Funcionários"),
            _items("Rua Pernambuco, Avenida Afonso Pena"),
            area_codes=("31",),
        ),
        Place(
            "Curitiba",
            "PR",
            _items("Batel, Água Verde, Centro"),
            _items("Rua XV de Novembro, Avenida Sete de Setembro"),
            area_codes=("41",),
        ),
        Place(
            "Porto Alegre",
            "RS",
            _items("Moinhos de Vento, Cidade Baixa, Menino Deus"),
            _items("Rua Padre Chagas, Avenida Ipiranga"),
            area_codes=("51",),
        ),
        Place(
            "Salvador",
            "BA",
            _items("Barra, Rio Vermelho, Pituba"),
            _items("Avenida Oceânica, Rua das Flores"),
            area_codes=("71",),
        ),
        Place(
            "Recife",
            "PE",
            _items("Boa Viagem, Casa Forte, Graças"),
            _items("Avenida Boa Viagem, Rua do Futuro"),
            area_codes=("81",),
        ),
        Place(
            "Fortaleza",
            "CE",
            _items("Meireles, Aldeota, Benfica"),
            _items("Avenida Beira Mar, Rua Tibúrcio Cavalcante"),
            area_codes=("85",),
        ),
    ),
    email_domains=_items(
        "gmail.com, gmail.com, gmail.com, hotmail.com, outlook.com, yahoo.com.br, uol.com.br, "
        "bol.com.br"
    ),
    acquisition_sources=_items(
        "Instagram, Instagram, WhatsApp, Google, Google, iFood, Mercado Livre, Facebook, "
        "Indicação, Indicação, Panfleto, Passou na frente"
    ),
    contact_methods=_items("whatsapp, whatsapp, whatsapp, whatsapp, email, sms, phone"),
    country_code="55",
    national_digits=11,
    postal_code="#####-###",
)

MEXICO = Locale(
    country="MX",
    language="es-MX",
    name_groups=(
        NameGroup(
            weight=1,
            female=_items(
                "María, Guadalupe, Sofía, Valentina, Ximena, Fernanda, Andrea, Daniela, Mariana, "
                "Regina, Camila, Renata, Paola, Alejandra, Lucía, Itzel, Karla, Verónica"
            ),
            male=_items(
                "José, Juan, Luis, Carlos, Miguel, Alejandro, Diego, Jorge, Ricardo, Santiago, "
                "Emiliano, Mateo, Fernando, Eduardo, Javier, Arturo, Raúl, Héctor"
            ),
            last=_items(
                "Hernández, García, Martínez, López, González, Rodríguez, Pérez, Sánchez, "
                "Ramírez, Cruz, Flores, Gómez, Morales, Vázquez, Reyes, Jiménez, Torres, Díaz, "
                "Castillo, Ortiz, Mendoza, Ruiz"
            ),
        ),
    ),
    places=(
        Place(
            "Ciudad de México",
            "CDMX",
            _items("Roma Norte, Condesa, Coyoacán, Polanco, Del Valle, Narvarte"),
            _items(
                "Avenida Insurgentes Sur, Calle Durango, Avenida Álvaro Obregón, Calle Madero, "
                "Avenida Universidad"
            ),
            area_codes=("55",),
        ),
        Place(
            "Guadalajara",
            "Jalisco",
            _items("Providencia, Chapalita, Americana"),
            _items("Avenida Chapultepec, Avenida Vallarta"),
            area_codes=("33",),
        ),
        Place(
            "Monterrey",
            "Nuevo León",
            _items("San Pedro, Cumbres, Obispado"),
            _items("Avenida Constitución, Calzada del Valle"),
            area_codes=("81",),
        ),
        Place(
            "Puebla",
            "Puebla",
            _items("Centro, La Paz, Angelópolis"),
            _items("Avenida Juárez, Calle 5 de Mayo"),
            area_codes=("222",),
        ),
        Place(
            "Mérida",
            "Yucatán",
            _items("García Ginerés, Montejo, Itzimná"),
            _items("Paseo de Montejo, Calle 60"),
            area_codes=("999",),
        ),
        Place(
            "Querétaro",
            "Querétaro",
            _items("Centro Histórico, Juriquilla, El Refugio"),
            _items("Avenida Zaragoza, Calle Corregidora"),
            area_codes=("442",),
        ),
    ),
    email_domains=_items(
        "gmail.com, gmail.com, gmail.com, hotmail.com, hotmail.com, outlook.com, yahoo.com.mx, "
        "live.com.mx"
    ),
    acquisition_sources=_items(
        "Facebook, Facebook, Instagram, Google, Google Maps, Recomendación, Recomendación, "
        "Mercado Libre, Volante, Pasaba por aquí"
    ),
    contact_methods=_items("whatsapp, whatsapp, whatsapp, whatsapp, phone, sms, email"),
    country_code="52",
    national_digits=10,
    two_last_names=True,
)

UNITED_STATES = Locale(
    country="US",
    language="en-US",
    name_groups=(
        NameGroup(
            weight=85,
            female=_items(
                "Emily, Olivia, Ava, Sophia, Madison, Chloe, Sarah, Jessica, Ashley, Megan, "
                "Hannah, Lauren, Rachel, Emma, Abigail, Grace, Natalie, Brianna, Kayla, Morgan"
            ),
            male=_items(
                "James, Michael, Liam, Noah, Ethan, Mason, Daniel, Ryan, Tyler, Matthew, Andrew, "
                "Joshua, Christopher, Brandon, Jacob, Logan, Austin, Kevin, Justin, Nathan"
            ),
            last=_items(
                "Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, "
                "Thomas, Moore, Jackson, Martin, Lee, Thompson, White, Harris, Clark, Lewis, "
                "Walker, Hall, Young, King"
            ),
        ),
        NameGroup(
            weight=15,
            language="es",
            female=_items("María, Sofía, Isabella, Camila, Valeria, Lucía, Gabriela"),
            male=_items("José, Luis, Carlos, Juan, Diego, Mateo, Alejandro"),
            last=_items(
                "Garcia, Martinez, Rodriguez, Hernandez, Lopez, Gonzalez, Perez, Nguyen, Patel, Kim"
            ),
        ),
    ),
    places=(
        Place(
            "Austin",
            "TX",
            _items("East Austin, Hyde Park, South Congress"),
            _items("Congress Avenue, East 6th Street, Guadalupe Street"),
            area_codes=("512",),
        ),
        Place(
            "Portland",
            "OR",
            _items("Pearl District, Alberta Arts, Hawthorne"),
            _items("NW 23rd Avenue, SE Hawthorne Boulevard"),
            area_codes=("503",),
        ),
        Place(
            "Chicago",
            "IL",
            _items("Wicker Park, Lincoln Park, Logan Square"),
            _items("Milwaukee Avenue, North Clark Street"),
            area_codes=("312",),
        ),
        Place(
            "Brooklyn",
            "NY",
            _items("Park Slope, Williamsburg, Bushwick"),
            _items("Bedford Avenue, 7th Avenue, Atlantic Avenue"),
            area_codes=("718",),
        ),
        Place(
            "Denver",
            "CO",
            _items("Highlands, RiNo, Capitol Hill"),
            _items("Larimer Street, Colfax Avenue"),
            area_codes=("303",),
        ),
        Place(
            "Seattle",
            "WA",
            _items("Capitol Hill, Ballard, Fremont"),
            _items("Pike Street, Market Street"),
            area_codes=("206",),
        ),
        Place(
            "Atlanta",
            "GA",
            _items("Midtown, Inman Park, Decatur"),
            _items("Peachtree Street, Ponce de Leon Avenue"),
            area_codes=("404",),
        ),
        Place(
            "Miami",
            "FL",
            _items("Wynwood, Little Havana, Coral Gables"),
            _items("Calle Ocho, Biscayne Boulevard"),
            area_codes=("305",),
        ),
    ),
    email_domains=_items(
        "gmail.com, gmail.com, gmail.com, yahoo.com, outlook.com, icloud.com, icloud.com, aol.com"
    ),
    acquisition_sources=_items(
        "Google, Google, Instagram, Instagram, Yelp, Facebook, TikTok, Word of mouth, Word of "
        "mouth, Walked by, Newsletter"
    ),
    contact_methods=_items("sms, sms, email, email, email, phone"),
    country_code="1",
    national_digits=10,
)

LOCALES = {locale.country: locale for locale in (NIGERIA, BRAZIL, MEXICO, UNITED_STATES)}


def locale_for(country: str) -> Locale:
    """The locale for a country; countries without their own borrow the US one's names."""
    return LOCALES.get(country.upper(), UNITED_STATES)
